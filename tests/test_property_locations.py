"""PropertyLocations: a resource's property locations kept as lines, behaving as the dict they replace."""

from __future__ import annotations

import pickle

from lambdasec.model.location import Location, PropertyLocations

PREFIX = ("Resources", "Fn", "Properties")


def sample() -> PropertyLocations:
    located = PropertyLocations("template.yaml", PREFIX)
    located.add(("Environment",), 7)
    located.add(("Environment", "Variables", "TOKEN"), 9)
    located.add(("Tags", "app.kubernetes.io/name"), 12)  # a key with dots is kept as written
    return located


def as_dict() -> dict[str, Location]:
    return {
        "Environment": Location("template.yaml", 7, None, (*PREFIX, "Environment")),
        "Environment.Variables.TOKEN": Location("template.yaml", 9, None, (*PREFIX, "Environment", "Variables",
                                                                             "TOKEN")),
        "Tags.app.kubernetes.io/name": Location("template.yaml", 12, None, (*PREFIX, "Tags", "app.kubernetes.io/name")),
    }


def test_reads_as_the_dict_of_locations_it_stands_for() -> None:
    located = sample()
    assert dict(located) == as_dict()
    assert located == as_dict() and len(located) == 3
    assert "Environment.Variables.TOKEN" in located and "Environment.Variables" not in located
    assert located.get("Missing") is None


def test_set_and_delete_like_a_dict() -> None:
    located = sample()
    located["Environment"] = Location("other.yaml", 1)
    assert located["Environment"] == Location("other.yaml", 1) and len(located) == 3
    del located["Environment"]
    del located["Tags.app.kubernetes.io/name"]
    assert list(located) == ["Environment.Variables.TOKEN"]


def test_the_later_of_two_paths_written_alike_wins() -> None:
    located = PropertyLocations("t.yaml", PREFIX)
    located.add(("a", "b"), 1)
    located.add(("a.b",), 2)
    assert (len(located), located["a.b"].path[-1], located["a.b"].line) == (1, "a.b", 2)
    located.add(("a", "b"), 3)
    assert (len(located), located["a.b"].path[-2:], located["a.b"].line) == (1, ("a", "b"), 3)


def test_pickles_to_an_equal_mapping() -> None:
    located = sample()
    located["Extra"] = Location("x.yaml", 4)
    assert pickle.loads(pickle.dumps(located)) == dict(located)
