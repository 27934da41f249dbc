"""Turn a (resource, property path) of the scanned template into a file location.

For plain CloudFormation the path is looked up in the parsed source. For SAM the
scanned template is the translator's output, so each generated resource is mapped
back to the SAM resource it came from (``FnRole`` -> ``Fn``), and the property is
searched under that resource, under its ``FunctionUrlConfig`` or event, and under
``Globals``; the deepest match wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ...model.location import Location, PropertyLocations
from .loader import LineDict, LineList

# Properties of a generated resource that the SAM source writes under another name.
_SAM_SPELLINGS = {"Code": ("CodeUri", "InlineCode", "ImageUri"), "Content": ("ContentUri",)}
_GENERATED_PREFIXES = {
    "AWS::Lambda::Url": (("FunctionUrlConfig",),),
    "AWS::IAM::Role": (("Policies",),),
    "AWS::Lambda::Permission": (("FunctionUrlConfig",),),
}


def _walk(node: Any, path: Sequence[str]) -> tuple[int, int | None]:
    """How many segments of ``path`` exist under ``node``, and the line of the deepest one."""
    depth, line = 0, getattr(node, "line", None)
    for segment in path:
        if isinstance(node, Mapping) and segment in node:
            line = node.key_lines.get(segment, line) if isinstance(node, LineDict) else line
            node = node[segment]
        elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
            if isinstance(node, LineList) and int(segment) < len(node.item_lines):
                line = node.item_lines[int(segment)] or line
            node = node[int(segment)]
        else:
            break
        depth += 1
    return depth, line


class Locator:
    def __init__(self, file: str, source: Any, sam_resources: Mapping[str, Any] | None = None) -> None:
        self.file = file
        self.source = source if isinstance(source, Mapping) else {}
        resources = self.source.get("Resources")
        self.resources: Mapping[str, Any] = resources if isinstance(resources, Mapping) else {}
        # For SAM: source logical ids, longest first, to map generated ids back by prefix.
        self._sam_ids = sorted(sam_resources or {}, key=len, reverse=True)

    def origin(self, logical_id: str) -> str:
        """The source resource a (possibly generated) logical id comes from."""
        if logical_id in self.resources:
            return logical_id
        for source_id in self._sam_ids:
            if logical_id.startswith(source_id):
                return source_id
        return logical_id

    def resource(self, logical_id: str, resource_type: str = "") -> Location:
        """The resource's own line; a SAM-generated resource points at what generated it (event, URL...)."""
        origin = self.origin(logical_id)
        line = self.resources.key_lines.get(origin) if isinstance(self.resources, LineDict) else None
        if origin != logical_id:
            line = self._best_line(logical_id, (), resource_type, line)
        return Location(self.file, line, None, ("Resources", logical_id))

    def prop(self, logical_id: str, path: Sequence[str], resource_type: str = "") -> Location:
        line = self._best_line(logical_id, path, resource_type, None)
        if line is None:
            line = self.resource(logical_id, resource_type).line
        return Location(self.file, line, None, ("Resources", logical_id, "Properties", *path))

    def props(self, logical_id: str, paths: Iterable[tuple[str, ...]],
              resource_type: str = "") -> PropertyLocations:
        """:meth:`prop` of many paths of one resource, by dotted path. Parents must come before their children
        (as :func:`collector._paths` yields them): each path then costs one step from its parent's node per
        candidate instead of a walk from the root (a large SAM scan locates tens of thousands of them)."""
        candidates = self._candidates(logical_id, ("x",), resource_type)
        fallback: int | None = None
        fallback_known = False
        # per candidate: path -> (segments matched, line, node); the empty path is the candidate's root
        walked: list[dict[tuple[str, ...], tuple[int, int | None, Any]]] = []
        for prefix, root in candidates:
            depth, line = _walk(root, prefix)
            node = _descend(root, prefix) if depth == len(prefix) else None
            walked.append({(): (depth, line, node)})
        out = PropertyLocations(self.file, ("Resources", logical_id, "Properties"))
        for path in paths:
            best_depth, best_line = -1, None
            for written in self._spellings(path):
                for (prefix, _), seen in zip(candidates, walked, strict=True):
                    depth, line, node = seen.get(written) or _step(seen, written)
                    if depth < len(prefix) or line is None:
                        continue
                    if depth - len(prefix) > best_depth:
                        best_depth, best_line = depth - len(prefix), line
            if best_line is None:
                if not fallback_known:
                    fallback, fallback_known = self.resource(logical_id, resource_type).line, True
                best_line = fallback
            out.add(path, best_line)
        return out

    def _spellings(self, path: tuple[str, ...]) -> list[tuple[str, ...]]:
        """The path, and in a SAM template how SAM spells it (``Code`` is written ``CodeUri`` or ``InlineCode``)."""
        if not self._sam_ids or not path or path[0] not in _SAM_SPELLINGS:
            return [path]
        return [path, *((spelling, *path[1:]) for spelling in _SAM_SPELLINGS[path[0]])]

    def _candidates(self, logical_id: str, path: Sequence[str],
                    resource_type: str) -> list[tuple[tuple[str, ...], Any]]:
        """(prefix under which the property may be written, root); earlier candidates win ties."""
        origin = self.origin(logical_id)
        node = self.resources.get(origin)
        candidates: list[tuple[tuple[str, ...], Any]] = []
        if origin != logical_id:
            properties = node.get("Properties") if isinstance(node, Mapping) else None
            events = properties.get("Events") if isinstance(properties, Mapping) else None
            rest = logical_id[len(origin):]
            for event in events if isinstance(events, Mapping) else ():
                if rest.startswith(str(event)):
                    candidates.append((("Properties", "Events", str(event)), node))
            for generated_under in _GENERATED_PREFIXES.get(resource_type, ()):
                candidates.append((("Properties", *generated_under), node))
        if origin == logical_id or path:
            candidates.append((("Properties",), node))
        globals_ = self.source.get("Globals")
        if self._sam_ids and isinstance(globals_, Mapping):
            candidates.append(((), globals_.get("Function")))
        return candidates

    def _best_line(self, logical_id: str, path: Sequence[str], resource_type: str, default: int | None) -> int | None:
        best_depth, best_line = -1, default
        for prefix, root in self._candidates(logical_id, path, resource_type):
            depth, line = _walk(root, (*prefix, *path))
            if depth < len(prefix) or line is None:
                continue
            if depth - len(prefix) > best_depth:
                best_depth, best_line = depth - len(prefix), line
        return best_line


def _descend(node: Any, path: Sequence[str]) -> Any:
    for segment in path:
        node = node[int(segment)] if isinstance(node, list) else node[segment]
    return node


def _step(seen: dict[tuple[str, ...], tuple[int, int | None, Any]],
          path: tuple[str, ...]) -> tuple[int, int | None, Any]:
    """:func:`_walk` of the candidate's prefix and ``path``, one segment past the parent's result."""
    depth, line, node = seen.get(path[:-1]) or _step(seen, path[:-1])
    segment = path[-1]
    result: tuple[int, int | None, Any] = (depth, line, None)  # the walk stopped here or earlier
    if isinstance(node, dict) and segment in node:  # template nodes are dicts; the Mapping ABC is slower
        if isinstance(node, LineDict):
            line = node.key_lines.get(segment, line)
        result = (depth + 1, line, node[segment])
    elif isinstance(node, list) and segment.isdigit() and int(segment) < len(node):
        index = int(segment)
        if isinstance(node, LineList) and index < len(node.item_lines):
            line = node.item_lines[index] or line
        result = (depth + 1, line, node[index])
    seen[path] = result
    return result
