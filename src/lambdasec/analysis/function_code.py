"""Find a function's code on disk from the inventory, and run the SDK analysers on it.

A template names the code relative to the scan root (``CodeLocation.value``): a SAM ``CodeUri`` directory, a
Terraform ``filename`` zip, a serverless.yml artifact, or inline source (CloudFormation ``Code.ZipFile``). The
Serverless Framework's default artifact (``.serverless/<name>.zip``) only exists after ``sls package``: then the
service directory holding serverless.yml is the code, as the Framework would package it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Sequence
from pathlib import Path

from lambdasec.fast_dataclass import dataclass, field

from ..model.inventory import Function, Resource
from ..model.location import Location
from ..model.values import Unresolved, literal
from .code_source import CodeSource, PackageSource, SourceError, open_source
from .sdk_calls import CodeAnalysis, CodeNote

_SERVERLESS_NAMES = ("serverless.yml", "serverless.yaml", "serverless.json")


@dataclass
class InlineSource:
    """CloudFormation inline code (``Code.ZipFile``): Lambda stores it as ``index.py`` or ``index.js``."""

    name: str
    text: str
    label: str = "inline code"
    skipped: list[str] = field(default_factory=list)

    def files(self) -> list[str]:
        return [self.name]

    def read(self, path: str) -> bytes | None:
        return self.text.encode("utf-8") if path == self.name else None

    def size(self, path: str) -> int | None:
        return len(self.text.encode("utf-8")) if path == self.name else None

    def exists(self, path: str) -> bool:
        return path == self.name


@dataclass
class FunctionCode:
    """Where a function's code is, or why it cannot be analysed (``problem``)."""

    source: CodeSource | None
    label: str  # the code location as shown to users
    handler: str | None
    language: str | None  # "python" | "javascript" | None (unknown runtime: both analysers run)
    problem: str = ""

    def close(self) -> None:
        if isinstance(self.source, PackageSource):
            self.source.close()


def runtime_language(runtime: object) -> str | None:
    text = (literal(runtime) or "").lower()
    if text.startswith("python"):
        return "python"
    if text.startswith("nodejs"):
        return "javascript"
    return None


def locate(fn: Function, roots: Sequence[Path]) -> FunctionCode:
    """The code of ``fn``, looked up under the scan roots (the directories the scanned paths were relative to)."""
    handler = literal(fn.handler)
    language = runtime_language(fn.runtime)
    runtime = literal(fn.runtime)
    if runtime is not None and language is None:
        return FunctionCode(None, "", handler, None, f"runtime {runtime} is not analysed (Python and Node.js are)")
    code = fn.code
    if code is None or code.kind == "unknown":
        return FunctionCode(None, "", handler, language, "the template does not say where the code is")
    if code.kind == "image":
        return FunctionCode(None, str(code.value or ""), handler, language,
                            "the code is a container image, not available to a static scan")
    if code.kind == "s3":
        shown = code.value.expression if isinstance(code.value, Unresolved) else str(code.value or "")
        return FunctionCode(None, shown, handler, language, f"the code is in S3 ({shown}), not available locally")
    if code.kind == "inline":
        if code.inline is None:
            return FunctionCode(None, "inline code", handler, language, "the inline code is not known statically")
        name = "index.js" if language == "javascript" else "index.py"
        return FunctionCode(InlineSource(name, code.inline), "inline code", handler or "index.handler", language)
    if not isinstance(code.value, str):
        shown = code.value.expression if isinstance(code.value, Unresolved) else str(code.value)
        return FunctionCode(None, shown, handler, language, f"the code path is not known statically ({shown})")
    return _local(fn, code.value, roots, handler, language)


def _local(fn: Function, path: str, roots: Sequence[Path], handler: str | None, language: str | None) -> FunctionCode:
    root = _root_of(fn, roots)
    path = _beside_terraform_file(root, path)
    target = root / path if not Path(path).is_absolute() else Path(path)
    if not target.exists() and posixpath.basename(posixpath.dirname(path)) == ".serverless":
        service = _serverless_directory(fn, root)
        if service is not None:
            target = service
            path = service.relative_to(root).as_posix() if service.is_relative_to(root) else service.as_posix()
            path = path or "."
    if not target.exists():
        return FunctionCode(None, path, handler, language, f"the code {path} does not exist (not built yet?)")
    if target.is_file() and not target.name.lower().endswith((".zip", ".jar")):
        return FunctionCode(None, path, handler, language, f"{path} is neither a directory nor a zip")
    try:
        source = open_source(target, path)
    except SourceError as exc:
        return FunctionCode(None, path, handler, language, str(exc))
    return FunctionCode(source, path, handler, language)


def _beside_terraform_file(root: Path, path: str) -> str:
    """A Terraform file scanned on its own is its own module: its paths come out as ``main.tf/build/fn.zip``,
    meaning ``build/fn.zip`` beside the file."""
    parts = path.split("/")
    for index, part in enumerate(parts[:-1]):
        if part.endswith(".tf") and (root.joinpath(*parts[: index + 1])).is_file():
            return "/".join(parts[:index] + parts[index + 1:])
    return path


def _root_of(fn: Resource, roots: Sequence[Path]) -> Path:
    """The scan root of the file declaring ``fn``: the one its location is relative to."""
    for root in roots:
        if fn.location.file and (root / fn.location.file).is_file():
            return root
    return roots[0] if roots else Path(".")


def _serverless_directory(fn: Resource, root: Path) -> Path | None:
    declared = fn.location.file
    name = posixpath.basename(declared)
    if name in _SERVERLESS_NAMES or name.endswith(tuple("." + n for n in _SERVERLESS_NAMES)):
        return (root / declared).parent
    return None


def code_prefix(code: FunctionCode) -> str:
    """What to put before the code's own paths so locations read from the scan root (``src/app.py``)."""
    if code.source is None or isinstance(code.source, InlineSource) or code.label in ("", "."):
        return ""
    return code.label.rstrip("/") + "/"


def analyse(code: FunctionCode, *, prefix: str = "") -> CodeAnalysis:
    """The SDK calls of a located function's code (Python and/or JavaScript by its runtime)."""
    analysis = CodeAnalysis()
    if code.source is None:
        return analysis
    for source_error in code.source.skipped:
        analysis.notes.append(CodeNote("skipped-file", source_error, _where(code)))
    # Each analyser is imported only for code in its language (the JavaScript one loads tree-sitter).
    if code.language in (None, "python"):
        from .sdk_python import analyse_python

        analysis.extend(analyse_python(code.source, code.handler if code.language else None, prefix))
    if code.language in (None, "javascript"):
        from .sdk_node import analyse_node

        analysis.extend(analyse_node(code.source, code.handler if code.language else None, prefix))
    return analysis.sorted()


def _where(code: FunctionCode) -> Location:
    return Location(code.label)
