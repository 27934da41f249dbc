"""lambdasec.fast_dataclass behaves as the standard decorator on everything lambdasec uses."""

from __future__ import annotations

import copy
import dataclasses
import pickle
from typing import Any, ClassVar

import pytest

from lambdasec import fast_dataclass

DECORATORS = {"stdlib": dataclasses.dataclass, "fast": fast_dataclass.dataclass}


def make_classes(decorate: Any) -> dict[str, type]:
    field = dataclasses.field

    @decorate
    class Plain:
        name: str
        items: list[str] = field(default_factory=list)
        count: int = 3
        hidden: int = field(default=0, compare=False, repr=False)
        kind: ClassVar[str] = "plain"

    @decorate(frozen=True)
    class Frozen:
        """Has a docstring."""

        x: int
        tags: tuple[str, ...] = ()
        note: str = field(default="", compare=False, hash=False, repr=False)

    @decorate(frozen=True)
    class FrozenChild(Frozen):
        extra: str = "e"

    @decorate(eq=False)
    class NoEq:
        value: int

    @decorate
    class WithPostInit:
        low: int
        high: int = 10
        span: int = field(init=False, default=0)
        seen: list[int] = field(init=False, default_factory=list)

        def __post_init__(self) -> None:
            self.span = self.high - self.low

    @decorate(frozen=True)
    class CustomEq:
        key: str

        def __eq__(self, other: object) -> bool:
            return isinstance(other, CustomEq) and self.key.lower() == other.key.lower()

        def __hash__(self) -> int:
            return hash(self.key.lower())

    @decorate(frozen=True)
    class Empty:
        pass

    @decorate
    class Base:
        a: int

    @decorate
    class Child(Base):
        b: str = "b"

    return {cls.__name__: cls for cls in (Plain, Frozen, FrozenChild, NoEq, WithPostInit, CustomEq, Empty, Base, Child)}


def module_level(label: str, classes: dict[str, type]) -> dict[str, type]:
    """Registered under module-level names (``Plain_fast``...) so that pickle finds them."""
    for name, cls in classes.items():
        cls.__qualname__ = cls.__name__ = f"{name}_{label}"
        globals()[cls.__qualname__] = cls
    return classes


CLASSES = {label: module_level(label, make_classes(decorate)) for label, decorate in DECORATORS.items()}


def build(label: str) -> dict[str, Any]:
    c = CLASSES[label]
    return {
        "plain": c["Plain"]("n", ["i"]),
        "plain_default": c["Plain"]("n"),
        "frozen": c["Frozen"](1, ("t",), "note"),
        "child": c["FrozenChild"](2, extra="x"),
        "noeq": c["NoEq"](5),
        "post": c["WithPostInit"](3),
        "custom": c["CustomEq"]("AbC"),
        "empty": c["Empty"](),
        "derived": c["Child"](1),
    }


def observe(label: str) -> dict[str, Any]:
    """Everything observable about the classes and instances, with class names as the only identity."""
    c, objects = CLASSES[label], build(label)
    seen: dict[str, Any] = {name: shown(obj, label) for name, obj in objects.items()}
    seen["fields"] = {name: [(f.name, f.init, f.repr, f.compare, f.hash) for f in dataclasses.fields(cls)]
                      for name, cls in c.items()}
    seen["hashable"] = {name: cls.__hash__ is not None for name, cls in c.items()}
    seen["eq"] = [
        objects["plain"] == c["Plain"]("n", ["i"], hidden=9),  # hidden is not compared
        objects["plain"] == c["Plain"]("n", ["j"]),
        objects["frozen"] == c["Frozen"](1, ("t",), "other note"),
        objects["frozen"] == c["FrozenChild"](1, ("t",)),  # other class: not equal
        objects["noeq"] == c["NoEq"](5),  # identity
        objects["custom"] == c["CustomEq"]("abc"),
        objects["empty"] == c["Empty"](),
        objects["plain"] == "n",
    ]
    seen["hash_equal"] = [
        hash(objects["frozen"]) == hash(c["Frozen"](1, ("t",), "x")),
        hash(objects["custom"]) == hash(c["CustomEq"]("ABC")),
    ]
    seen["defaults_fresh"] = objects["plain_default"].items is not c["Plain"]("n").items
    seen["post"] = (objects["post"].span, objects["post"].seen)
    seen["replace"] = shown(dataclasses.replace(objects["child"], x=7), label)
    seen["asdict"] = dataclasses.asdict(objects["derived"])
    seen["match_args"] = {name: getattr(cls, "__match_args__", None) for name, cls in c.items()}
    seen["pickle"] = shown(pickle.loads(pickle.dumps(objects["child"])), label)
    seen["deepcopy"] = shown(copy.deepcopy(objects["plain"]), label)
    return seen


def shown(obj: Any, label: str) -> str:
    return repr(obj).replace(f"_{label}(", "(")


def test_same_behaviour_as_the_standard_decorator() -> None:
    assert observe("fast") == observe("stdlib")


@pytest.mark.parametrize("label", list(DECORATORS))
def test_frozen_instances_refuse_assignment_and_deletion(label: str) -> None:
    frozen = build(label)["child"]
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'x'"):
        frozen.x = 3
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'extra'"):
        del frozen.extra
    with pytest.raises(dataclasses.FrozenInstanceError):
        frozen.anything_else = 1


@pytest.mark.parametrize("label", list(DECORATORS))
def test_constructor_errors_match(label: str) -> None:
    c = CLASSES[label]
    with pytest.raises(TypeError):
        c["Plain"]()
    with pytest.raises(TypeError):
        c["WithPostInit"](1, 2, 3)  # span is not an init parameter
    with pytest.raises(TypeError):
        c["Frozen"](1, (), "", "too many")


@pytest.mark.parametrize("label", list(DECORATORS))
def test_class_definition_errors_match(label: str) -> None:
    decorate = DECORATORS[label]
    with pytest.raises(TypeError, match="non-default argument 'b' follows default argument"):
        @decorate
        class Order:
            a: int = 1
            b: int

    with pytest.raises(ValueError, match="mutable default"):
        @decorate
        class Mutable:
            a: list[int] = []  # noqa: RUF012

    @decorate(frozen=True)
    class FrozenBase:
        a: int

    with pytest.raises(TypeError, match="cannot inherit non-frozen dataclass from a frozen one"):
        @decorate
        class Thawed(FrozenBase):
            b: int = 0

    @decorate
    class ThawedBase:
        a: int

    with pytest.raises(TypeError, match="cannot inherit frozen dataclass from a non-frozen one"):
        @decorate(frozen=True)
        class Frozen(ThawedBase):
            b: int = 0


def test_recursive_repr_does_not_loop() -> None:
    @fast_dataclass.dataclass
    class Node:
        children: list[Any] = dataclasses.field(default_factory=list)

    node = Node()
    node.children.append(node)
    assert repr(node).endswith(".Node(children=[...])")


def test_the_constructor_is_compiled_once_at_first_use() -> None:
    @fast_dataclass.dataclass
    class Lazy:
        a: int

    stub = Lazy.__dict__["__init__"]
    assert Lazy(1).a == 1
    compiled = Lazy.__dict__["__init__"]
    assert compiled is not stub
    assert Lazy(2).a == 2 and Lazy.__dict__["__init__"] is compiled
    assert compiled.__qualname__.endswith("Lazy.__init__")


@fast_dataclass.dataclass(frozen=True, slots=True)
class Slotted:
    a: int


def test_slots_are_left_to_the_standard_decorator() -> None:
    assert Slotted.__slots__ == ("a",)
    assert pickle.loads(pickle.dumps(Slotted(4))) == Slotted(4)


def test_a_custom_setattr_still_sees_the_constructor_assignments() -> None:
    seen: list[str] = []

    @fast_dataclass.dataclass
    class Watched:
        a: int
        b: str = "b"

        def __setattr__(self, name: str, value: Any) -> None:
            seen.append(name)
            super().__setattr__(name, value)

    assert Watched(1).b == "b" and seen == ["a", "b"]


def test_fields_of_a_slotted_base_are_set_through_their_slots() -> None:
    class SlottedBase:
        __slots__ = ("a", "__dict__")

    @fast_dataclass.dataclass(frozen=True)
    class OnSlots(SlottedBase):
        a: int
        b: int = 2

    obj = OnSlots(1)
    assert (obj.a, obj.b, "a" in vars(obj)) == (1, 2, False)
