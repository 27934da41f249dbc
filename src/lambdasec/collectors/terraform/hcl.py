"""Read a Terraform module (HCL) into TfBlocks.

`read_module` parses the `.tf` files of one module directory (or a single `.tf` file given alone), evaluates
what the configuration alone determines (variables from defaults, terraform.tfvars and *.auto.tfvars, locals,
local child modules, count / for_each, safe functions, local files) and returns one TfBlock per resource and
data source instance, plus the coverage gaps met on the way. It never raises for bad input, never executes
anything, never reads environment variables (no `TF_VAR_*`) and never reads a file outside the scan root.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ...model.inventory import CoverageGap, Parameter
from ...model.location import Location
from ...model.values import Unresolved
from ..options import CollectOptions
from .blocks import TfBlock
from .hcl_ast import Call, ParsedFile, Template
from .hcl_eval import Evaluator, Scope
from .hcl_module import Arguments, LiteralContext, ModuleInstance
from .hcl_syntax import SyntaxProblem, load_parser, parse_file
from .hcl_syntax import parse_template as parse_template_text
from .hcl_values import NotStatic

if TYPE_CHECKING:
    from tree_sitter import Parser

MAX_STEPS = 2_000_000  # evaluation steps for one root module: bounds the work a hostile file can cause
MAX_CHAIN = 48  # nested lazy evaluations (a local using a local using a local...)


def read_module(files: Sequence[Path], root: Path, options: CollectOptions, *,
                parameter_links: dict[tuple[str, str], Parameter] | None = None,
                ) -> tuple[list[TfBlock], list[CoverageGap]]:
    """TfBlocks of the root module made of ``files`` (all in one directory), and the coverage gaps.

    When ``parameter_links`` is given it receives, like the plan reader's, the environment variables whose
    value is written `var.x` (followed through module arguments to a root variable): (block key, attribute
    path) -> Parameter, for `mapper.build_inventory(..., parameters=...)`.

    Keys are ``<module id>#<address>``: the module id is the directory relative to ``root`` ("." for the root
    itself) when ``files`` are all the ``.tf`` files of that directory, else (a file given alone next to
    others, like the rule fixtures) the file relative to ``root``. Blocks of local child modules get the same
    module id and their full address (``module.x.aws_lambda_function.y``), so two root modules calling the
    same child never share a key.
    """
    files = sorted(files, key=lambda p: p.name)
    if not files:
        return [], []
    gaps: list[CoverageGap] = []
    first = _relative(files[0], root)
    try:
        parser = load_parser()
    except ImportError:
        return [], [CoverageGap("unsupported", "reading Terraform needs the tree-sitter-hcl package", Location(first))]
    directory = files[0].parent
    module_id = _module_id(files, directory, root)
    reader = Reader(root, directory, module_id, options, parser, gaps)
    blocks: list[TfBlock] = []
    try:
        parsed = [p for p in (reader.load_file(f) for f in files) if p is not None]
        if module_id == _relative(directory, root):
            reader.check_json_configuration(directory)
        values, origins = reader.root_values()
        module = ModuleInstance(reader, parsed, directory.resolve(), "", Arguments(values=values, origins=origins), ())
        module.emit(blocks)
        if parameter_links is not None:
            parameter_links.update(reader.parameter_links)
    except RecursionError:
        reader.gap("invalid-template", "configuration is nested too deeply", Location(first))
    except Exception as exc:  # a configuration shape we did not foresee must not end the whole scan
        reader.gap("internal-error", f"could not read Terraform module: {type(exc).__name__}: {exc}"[:300],
                   Location(first))
    return blocks, gaps


def _module_id(files: list[Path], directory: Path, root: Path) -> str:
    whole_directory = {p.name for p in directory.glob("*.tf") if p.is_file()} <= {p.name for p in files}
    return _relative(directory if whole_directory else files[0], root)


@functools.lru_cache(maxsize=8192)
def _resolved(path: Path) -> Path:
    """Path.resolve() asks the file system for every component: the same few paths come back all the time."""
    return path.resolve()


def _relative(path: Path, root: Path) -> str:
    try:
        text = _resolved(path).relative_to(_resolved(root)).as_posix()
    except ValueError:
        return path.as_posix()
    return text or "."


class Reader:
    """State shared by all module instances of one root module: files, gaps, memo and cycle guard, budget."""

    def __init__(self, root: Path, root_dir: Path, module_id: str, options: CollectOptions, parser: Parser,
                 gaps: list[CoverageGap]) -> None:
        self.root = root
        self.root_resolved = root.resolve()
        self.root_dir = root_dir.resolve()  # the root module's directory: Terraform's working directory
        self.module_id = module_id
        self.options = options
        self.parser = parser
        self.gaps = gaps
        self.evaluator = Evaluator()
        self._gap_seen: set[tuple[str, str, str, int | None]] = set()
        self._memo: dict[tuple[str, ...], Any] = {}
        self._active: dict[tuple[str, ...], str] = {}
        self._directories: dict[Path, list[ParsedFile]] = {}
        self._texts: dict[Path, str] = {}
        self._steps = 0
        self.parameter_links: dict[tuple[str, str], Parameter] = {}

    def key(self, address: str) -> str:
        return f"{self.module_id}#{address}"

    def gap(self, kind: str, message: str, location: Location) -> None:
        seen = (kind, message, location.file, location.line)
        if seen not in self._gap_seen:
            self._gap_seen.add(seen)
            self.gaps.append(CoverageGap(kind, message, location))

    def tick(self) -> None:
        self._steps += 1
        if self._steps > MAX_STEPS:
            if self._steps == MAX_STEPS + 1:
                self.gap("unsupported", f"evaluation stopped after {MAX_STEPS} steps; the rest is unresolved",
                         Location(self.module_id))
            raise NotStatic("evaluation budget exhausted")

    def once(self, key: tuple[str, ...], label: str, compute: Callable[[], Any], where: Location) -> Any:
        """Compute a named value once; a reference cycle or a too long chain becomes a gap and an Unresolved."""
        if key in self._memo:
            return self._memo[key]
        if key in self._active:
            labels = list(self._active.values())
            cycle = [*labels[labels.index(self._active[key]):], label]
            self.gap("invalid-template", "circular reference: " + " -> ".join(cycle), where)
            return Unresolved(label, "circular reference")
        if len(self._active) >= MAX_CHAIN:
            self.gap("invalid-template", f"references nested more than {MAX_CHAIN} levels deep", where)
            return Unresolved(label, "references nested too deeply")
        self._active[key] = label
        try:
            value = compute()
        finally:
            del self._active[key]
        self._memo[key] = value
        return value

    # ------------------------------------------------------------ files
    def _read_bytes(self, path: Path, what: str) -> bytes | None:
        rel = _relative(path, self.root)
        try:
            size = path.stat().st_size
            if size > self.options.max_template_bytes:
                self.gap("too-large", f"{what} is {size} bytes, over the {self.options.max_template_bytes} byte limit",
                         Location(rel))
                return None
            return path.read_bytes()
        except OSError as exc:
            self.gap("missing-file" if isinstance(exc, FileNotFoundError) else "read-error",
                     f"cannot read {what}: {exc.strerror or exc}", Location(rel))
            return None

    def load_file(self, path: Path) -> ParsedFile | None:
        data = self._read_bytes(path, "Terraform file")
        if data is None:
            return None
        rel = _relative(path, self.root)
        try:
            data.decode("utf-8")
            parsed = parse_file(self.parser, data, rel)
            for message, line in parsed.skipped:
                self.gap("parse-error", message, Location(rel, line))
            return parsed
        except UnicodeDecodeError:
            self.gap("parse-error", "file is not valid UTF-8", Location(rel))
        except SyntaxProblem as exc:
            self.gap("parse-error", exc.message, Location(rel, exc.line))
        return None

    def load_directory(self, directory: Path) -> list[ParsedFile]:
        if directory not in self._directories:
            files = sorted(p for p in directory.glob("*.tf") if p.is_file())
            self._directories[directory] = [p for p in (self.load_file(f) for f in files) if p is not None]
            self.check_json_configuration(directory)
        return self._directories[directory]

    def check_json_configuration(self, directory: Path) -> None:
        for path in sorted(directory.glob("*.tf.json")):
            where = Location(_relative(path, self.root))
            self.gap("unsupported", "Terraform JSON configuration files are not read", where)

    def read_config_file(self, path_text: str, node: Call) -> str:
        """A file read by `file()` / `templatefile()`: relative to the root module, inside the scan root only."""
        where = Location(node.src.rel, node.line)
        path = (self.root_dir / path_text).resolve()
        if not path.is_relative_to(self.root_resolved):
            self.gap("unsupported", f"{node.name}({path_text}) is outside the scan root and not read", where)
            raise NotStatic(f"{path_text} is outside the scan root")
        if path in self._texts:
            return self._texts[path]
        if not path.is_file():
            self.gap("missing-file", f"{node.name}: file {path_text} not found", where)
            raise NotStatic(f"file {path_text} not found")
        data = self._read_bytes(path, f"file {path_text}")
        if data is None:
            raise NotStatic(f"file {path_text} could not be read")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise NotStatic(f"file {path_text} is not UTF-8 text") from None
        self._texts[path] = text
        return text

    def parse_template(self, text: str, rel: str) -> Template:
        return parse_template_text(self.parser, text, rel)

    # ------------------------------------------------------------ variables of the root module
    def root_values(self) -> tuple[dict[str, Any], dict[str, Location]]:
        """Values of the root variables: terraform.tfvars(.json), then *.auto.tfvars(.json) by name, then the
        values given by the user; and where each value from a file was written."""
        directory = self.root_dir
        paths = [directory / "terraform.tfvars", directory / "terraform.tfvars.json"]
        paths += sorted((p for p in directory.glob("*.auto.tfvars*") if p.name.endswith((".tfvars", ".tfvars.json"))),
                        key=lambda p: p.name)
        values: dict[str, Any] = {}
        origins: dict[str, Location] = {}
        for path in paths:
            if path.is_file():
                for name, (value, where) in self._tfvars(path).items():
                    values[name], origins[name] = value, where
        for name, value in self.options.parameter_values.items():
            values[name] = value
            origins.pop(name, None)
        return values, origins

    def _tfvars(self, path: Path) -> dict[str, tuple[Any, Location]]:
        data = self._read_bytes(path, "variables file")
        if data is None:
            return {}
        rel = _relative(path, self.root)
        if path.name.endswith(".json"):
            try:
                document = json.loads(data.decode("utf-8"))
            except ValueError as exc:
                self.gap("parse-error", f"invalid JSON variables file: {exc}", Location(rel))
                return {}
            if not isinstance(document, dict):
                self.gap("parse-error", "a JSON variables file must hold an object", Location(rel))
                return {}
            return {name: (value, Location(rel)) for name, value in document.items()}
        parsed = self.load_file(path)
        if parsed is None:
            return {}
        scope = Scope(LiteralContext(self))
        return {name: (self.evaluator.top(attribute.expr, scope), Location(rel, attribute.line))
                for name, attribute in parsed.body.attributes.items()}
