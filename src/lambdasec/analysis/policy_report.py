"""``lambdasec policy``: the least-privilege policy of each function, and the diff with its role, as JSON or text.

PATH is either a function's code (a directory or a zip, optionally with its handler), or templates (a file or a
directory holding CloudFormation/SAM, Terraform or serverless.yml files) whose functions' code is found through
the template. The CLI command (cli.py) only parses options and calls :func:`build` and :func:`render`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from lambdasec.fast_dataclass import dataclass, field

from ..model.inventory import CoverageGap, Function, Inventory, Role
from ..model.location import Location
from .function_code import FunctionCode, analyse, code_prefix, locate
from .least_privilege import Gap, NeededPolicy, RoleDiff, needed_policy, role_diff
from .sdk_calls import CodeAnalysis, CodeNote

# Notes that mean some permission may be missing from the policy.
INCOMPLETE_NOTES: Final = frozenset({"parse-error", "skipped-file", "dynamic-client", "dynamic-call", "budget",
                                     "unsupported", "unknown-method", "unread-destinations"})
_UNUSED_LISTED: Final = 50  # unused actions listed per service (all of them are counted)


class PolicyInputError(Exception):
    """PATH cannot be used (missing, or a named function does not exist): a usage error."""


@dataclass
class FunctionPolicy:
    function: Function | None
    code: FunctionCode
    analysis: CodeAnalysis
    policy: NeededPolicy
    role: Role | None = None
    diff: RoleDiff | None = None

    @property
    def incomplete(self) -> bool:
        return bool(self.code.problem or self.policy.unmapped
                    or any(note.kind in INCOMPLETE_NOTES for note in self.policy.notes))


@dataclass
class PolicyResult:
    functions: list[FunctionPolicy] = field(default_factory=list)
    coverage_gaps: list[CoverageGap] = field(default_factory=list)

    @property
    def incomplete(self) -> bool:
        return bool(self.coverage_gaps) or any(item.incomplete for item in self.functions)


def build(path: Path, handler: str | None = None, only: Sequence[str] = ()) -> PolicyResult:
    if not path.exists():
        raise PolicyInputError(f"path does not exist: {path}")
    if path.is_file() and path.suffix.lower() in (".zip", ".jar"):
        return PolicyResult([for_code(path, handler)])
    from ..collectors.discovery import collect
    from ..collectors.options import CollectOptions

    inventory, _ = collect([path], CollectOptions())
    if not inventory.functions:
        if path.is_file():
            raise PolicyInputError(f"{path} declares no Lambda function (give a template, a code directory or a zip)")
        return PolicyResult([for_code(path, handler)])
    chosen = [fn for fn in inventory.functions if not only or fn.id in only]
    unknown = sorted(set(only) - {fn.id for fn in inventory.functions})
    if unknown:
        known = ", ".join(sorted(fn.id for fn in inventory.functions))
        raise PolicyInputError(f"no function {', '.join(unknown)} in {path} (functions: {known})")
    roots = [path.parent if path.is_file() else path]
    result = PolicyResult(coverage_gaps=list(dict.fromkeys(inventory.coverage_gaps)))
    for fn in sorted(chosen, key=lambda f: (f.location.file, f.location.line or 0, f.id)):
        result.functions.append(for_function(fn, inventory, roots))
    return result


def for_code(path: Path, handler: str | None) -> FunctionPolicy:
    """A code directory or zip on its own: no template, so environment values are unknown."""
    from .code_source import SourceError, open_source

    label = path.as_posix()
    try:
        source = open_source(path, label)
    except SourceError as exc:
        code = FunctionCode(None, label, handler, None, str(exc))
        return FunctionPolicy(None, code, CodeAnalysis(), needed_policy(None))
    code = FunctionCode(source, label, handler, _language_of(handler, source.files()))
    try:
        analysis = analyse(code)
    finally:
        code.close()
    if handler and code.language is None:
        analysis.notes.append(CodeNote("missing-handler", f"handler module of '{handler}' not found: every source "
                                       "file analysed", Location(label)))
    return FunctionPolicy(None, code, analysis, needed_policy(analysis))


def _language_of(handler: str | None, files: list[str]) -> str | None:
    """With a handler, the language of its module's file; without, both languages run."""
    if handler is None:
        return None
    stem = handler.rpartition(".")[0]
    if f"{stem}.py" in files:
        return "python"
    if any(f"{stem}{suffix}" in files for suffix in (".js", ".mjs", ".cjs")):
        return "javascript"
    return None


def for_function(fn: Function, inventory: Inventory, roots: Sequence[Path]) -> FunctionPolicy:
    code = locate(fn, roots)
    try:
        analysis = analyse(code, prefix=code_prefix(code))
    finally:
        code.close()
    policy = needed_policy(analysis if code.source is not None else None, fn, inventory)
    role = inventory.role_of(fn)
    diff = role_diff(policy, role, inventory) if role is not None and code.source is not None else None
    return FunctionPolicy(fn, code, analysis, policy, role, diff)


# ---------------------------------------------------------------- JSON
def to_dict(result: PolicyResult) -> dict[str, Any]:
    from .. import __version__
    from ..iam.catalogue import catalogue_version

    return {
        "tool": {"name": "lambdasec", "version": __version__, "iam_catalogue": catalogue_version()},
        "incomplete": result.incomplete,
        "coverage_gaps": [gap.to_dict() for gap in result.coverage_gaps],
        "functions": [_function_dict(item) for item in result.functions],
    }


def _where(location: Location | None) -> dict[str, object] | None:
    return location.to_dict() if location is not None else None


def _function_dict(item: FunctionPolicy) -> dict[str, Any]:
    fn, policy = item.function, item.policy
    return {
        "function": fn.id if fn is not None else None,
        "resource_key": fn.key if fn is not None else None,
        "location": _where(fn.location) if fn is not None else None,
        "incomplete": item.incomplete,
        "code": {
            "path": item.code.label,
            "handler": item.code.handler,
            "status": "unavailable" if item.code.problem else "analysed",
            "problem": item.code.problem or None,
            "languages": sorted(item.analysis.languages),
            "files": item.analysis.files,
        },
        "policy": policy.document(),
        "permissions": [
            {"action": n.action, "resource": n.resource, "source": n.source, "reason": n.reason,
             "location": _where(n.location)} for n in policy.needs
        ],
        "calls": [
            {"service": c.service, "operation": c.operation, "method": c.method, "via": c.via or None,
             "location": _where(c.location), "actions": policy.call_actions.get(c, [])} for c in policy.calls
        ],
        "free_calls": [{"call": f"{c.service}.{c.method}", "reason": why, "location": _where(c.location)}
                       for c, why in policy.free],
        "unmapped": [{"call": u.call, "reason": u.reason, "location": _where(u.location)} for u in policy.unmapped],
        "notes": [{"kind": n.kind, "message": n.message, "location": _where(n.location)} for n in policy.notes],
        "role": _diff_dict(item.diff) if item.diff is not None else None,
    }


def _gap_dict(gap: Gap) -> dict[str, Any]:
    need = gap.need
    return {"action": need.action, "resource": need.resource, "reason": need.reason, "detail": gap.detail,
            "location": _where(need.location)}


def _diff_dict(diff: RoleDiff) -> dict[str, Any]:
    return {
        "id": diff.role.id,
        "resource_key": diff.role.key,
        "missing": [_gap_dict(gap) for gap in diff.missing],
        "conditional": [_gap_dict(gap) for gap in diff.conditional],
        "unverified": [_gap_dict(gap) for gap in diff.unverified],
        "over_broad": [{"action": b.need.action, "needed": b.need.resource, "granted": b.grant, "policy": b.policy,
                        "location": _where(b.need.location)} for b in diff.over_broad],
        "unused": [{"service": service, "count": len(actions), "actions": actions[:_UNUSED_LISTED],
                    "truncated": len(actions) > _UNUSED_LISTED} for service, actions in sorted(diff.unused.items())],
        "unresolved": diff.unresolved,
    }


# ---------------------------------------------------------------- text
def to_text(result: PolicyResult) -> str:
    lines: list[str] = []
    for gap in result.coverage_gaps:
        lines.append(f"coverage gap: {gap.location.display()}: {gap.message}")
    for item in result.functions:
        if lines:
            lines.append("")
        lines.extend(_function_text(item))
    if result.incomplete:
        lines.extend(["", "Incomplete: some permissions may be missing (see the notes above)."])
    return "\n".join(lines) + "\n"


def _function_text(item: FunctionPolicy) -> list[str]:
    fn, policy, code = item.function, item.policy, item.code
    title = f"Function {fn.id} ({fn.location.display()})" if fn is not None else f"Code {code.label}"
    lines = [title]
    if code.problem:
        lines.append(f"  code: not analysed: {code.problem}")
    else:
        languages = ", ".join(sorted(item.analysis.languages)) or "no source"
        handler = f", handler {code.handler}" if code.handler else ""
        lines.append(f"  code: {code.label}{handler}: {len(item.analysis.files)} file(s) analysed ({languages})")
    lines.append("  Policy needed:")
    lines.extend("    " + line for line in json.dumps(policy.document(), indent=2).splitlines())
    if policy.calls:
        lines.append("  Calls:")
        for call in policy.calls:
            actions = ", ".join(policy.call_actions.get(call, [])) or "-"
            via = f" [{call.via}]" if call.via else ""
            lines.append(f"    {call.location.display()}  {call.service}.{call.method}{via} -> {actions}")
    for call, why in policy.free:
        lines.append(f"  No permission needed: {call.location.display()} {call.service}.{call.method}: {why}")
    if policy.unmapped:
        lines.append("  Calls without a known IAM action:")
        lines.extend(f"    {u.location.display()}  {u.call}: {u.reason}" for u in policy.unmapped)
    if policy.notes:
        lines.append("  Notes:")
        lines.extend(f"    {n.location.display()}  [{n.kind}] {n.message}" for n in policy.notes)
    if item.diff is not None:
        lines.extend(_diff_text(item.diff))
    elif fn is not None and item.role is None:
        lines.append("  Role: not in the scanned templates, no diff")
    return lines


def _diff_text(diff: RoleDiff) -> list[str]:
    lines = [f"  Role {diff.role.id}:"]
    sections = (("missing (calls that would be denied)", diff.missing),
                ("allowed only under a condition", diff.conditional),
                ("not comparable", diff.unverified))
    for title, gaps in sections:
        if gaps:
            lines.append(f"    {title}:")
            lines.extend(f"      {g.need.action} on {g.need.resource} ({g.need.reason}, "
                         f"{g.need.location.display()}): {g.detail}" for g in gaps)
    if diff.over_broad:
        lines.append("    granted on broader resources than used:")
        lines.extend(f"      {b.need.action}: needs {b.need.resource}, granted on {b.grant} ({b.policy})"
                     for b in diff.over_broad)
    if diff.unused:
        total = sum(len(actions) for actions in diff.unused.values())
        lines.append(f"    unused grants ({total} actions):")
        for service, actions in sorted(diff.unused.items()):
            shown = ", ".join(actions[:8]) + (f", ... ({len(actions) - 8} more)" if len(actions) > 8 else "")
            lines.append(f"      {service}: {shown}")
    if diff.unresolved:
        lines.append("    not evaluated:")
        lines.extend(f"      {reason}" for reason in diff.unresolved)
    if len(lines) == 1:
        lines.append("    grants exactly what the code needs")
    return lines


def render(fmt: str, result: PolicyResult) -> str:
    if fmt == "json":
        return json.dumps(to_dict(result), indent=2, sort_keys=False) + "\n"
    return to_text(result)
