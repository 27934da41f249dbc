"""Expand SAM templates with the official aws-sam-translator.

The translator is the reference implementation of SAM (Globals, Policies and policy
templates, Events, FunctionUrlConfig, Layers, AutoPublishAlias...), so we use it
rather than re-implement SAM. It is heavy to import (~0.5 s), so this module is only
imported when a template declares the SAM transform.

Local ``CodeUri``/``ContentUri``/``DefinitionUri`` paths are not S3 locations, which
the translator requires: they are swapped for placeholders and remembered, so the
inventory still knows where the code lives.
"""

from __future__ import annotations

import functools
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lambdasec.fast_dataclass import dataclass, field

from ...model.inventory import CoverageGap
from ...model.location import Location
from .sam_cache import TranslationCache

_PLACEHOLDER_BUCKET = "lambdasec-local-code"
# Pseudo parameters stay symbolic: the collector turns "${AWS::...}" back into Unresolved values.
_PSEUDO = {
    "AWS::Region": "${AWS::Region}",
    "AWS::AccountId": "${AWS::AccountId}",
    "AWS::StackName": "${AWS::StackName}",
    "AWS::StackId": "${AWS::StackId}",
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
}


@dataclass
class Translated:
    template: Mapping[str, Any]
    local_code: dict[str, str] = field(default_factory=dict)  # generated logical id -> local path
    gaps: list[CoverageGap] = field(default_factory=list)


def _plain(node: Any) -> Any:
    """Deep copy into plain dict/list (the translator mutates and copies its input)."""
    if isinstance(node, dict):  # template nodes are dicts (an ABC check per node costs 4x more)
        return {k: _plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_plain(v) for v in node]
    return node


class _Preparer:
    def __init__(self, template_dir: Path, root: Path, rel: str, source: Mapping[str, Any]) -> None:
        self.template_dir, self.root, self.rel = template_dir, root, rel
        self.source = source
        self.gaps: list[CoverageGap] = []
        self.local_code: dict[str, str] = {}  # source logical id -> local path

    def where(self, logical_id: str) -> Location:
        resources = self.source.get("Resources")
        line = getattr(resources, "key_lines", {}).get(logical_id)
        return Location(self.rel, line, None, ("Resources", logical_id))

    def local(self, logical_id: str, uri: Any, what: str) -> Any:
        """Placeholder for a local path; records it and reports a missing one."""
        if not isinstance(uri, str) or uri.startswith("s3://") or uri.startswith("https://"):
            return uri
        target = (self.template_dir / uri).resolve()
        try:
            shown = target.relative_to(self.root.resolve()).as_posix()
        except ValueError:
            shown = uri
        if not target.exists():
            self.gaps.append(CoverageGap("missing-file", f"{what} '{uri}' of {logical_id} does not exist",
                                         self.where(logical_id)))
        self.local_code[logical_id] = shown
        return {"Bucket": _PLACEHOLDER_BUCKET, "Key": shown}

    def prepare(self, template: dict[str, Any]) -> None:
        globals_fn = template.get("Globals", {}).get("Function", {}) if isinstance(
            template.get("Globals"), dict) else {}
        global_code = globals_fn.get("CodeUri") if isinstance(globals_fn, dict) else None
        if global_code is not None:
            globals_fn["CodeUri"] = self.local("Globals", global_code, "CodeUri")
        for logical_id, resource in (template.get("Resources") or {}).items():
            if not isinstance(resource, dict) or not isinstance(resource.get("Properties", {}), dict):
                continue
            props = resource.setdefault("Properties", {})
            kind = resource.get("Type")
            if kind == "AWS::Serverless::Function":
                self.function(logical_id, props, global_code, globals_fn)
            elif kind == "AWS::Serverless::LayerVersion" and "ContentUri" in props:
                props["ContentUri"] = self.local(logical_id, props["ContentUri"], "ContentUri")
            elif kind in ("AWS::Serverless::Api", "AWS::Serverless::HttpApi", "AWS::Serverless::StateMachine"):
                uri = props.get("DefinitionUri")
                if isinstance(uri, str) and not uri.startswith("s3://"):
                    props["DefinitionUri"] = self.local(logical_id, uri, "DefinitionUri")
                    self.local_code.pop(logical_id, None)
                    self.gaps.append(CoverageGap(
                        "unsupported", f"{logical_id}: routes defined in the external file '{uri}' are not analyzed",
                        self.where(logical_id)))

    def function(self, logical_id: str, props: dict[str, Any], global_code: Any, globals_fn: Any) -> None:
        if "CodeUri" in props:
            props["CodeUri"] = self.local(logical_id, props["CodeUri"], "CodeUri")
            return
        if global_code is not None:
            if "Globals" in self.local_code:
                self.local_code[logical_id] = self.local_code["Globals"]
            return
        image = props.get("PackageType") == "Image" or (
            isinstance(globals_fn, dict) and globals_fn.get("PackageType") == "Image")
        if "InlineCode" not in props and "ImageUri" not in props and not image:
            message = f"function {logical_id} has no CodeUri, InlineCode or ImageUri"
            self.gaps.append(CoverageGap("missing-file", message, self.where(logical_id)))
            props["CodeUri"] = {"Bucket": _PLACEHOLDER_BUCKET, "Key": "missing"}


def _without_sam_resources(template: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(template)
    resources = template.get("Resources") or {}
    out["Resources"] = {
        lid: res for lid, res in resources.items()
        if not (isinstance(res, Mapping) and str(res.get("Type", "")).startswith("AWS::Serverless::"))
    }
    return out


@functools.cache
def _policy_templates_processor() -> Any:
    from samtranslator.policy_template_processor.processor import PolicyTemplatesProcessor

    return PolicyTemplatesProcessor(PolicyTemplatesProcessor.get_default_policy_templates_json())


def _policy_template_plugin() -> Any:
    from samtranslator.plugins.policies.policy_templates_plugin import PolicyTemplatesForResourcePlugin

    return PolicyTemplatesForResourcePlugin(_policy_templates_processor())


def _reuse_policy_templates() -> None:
    """The translator re-validates its bundled policy templates against their JSON schema on every call
    (about 30 ms, half of a translation). The templates are the package's own read-only data, so the
    validated processor is built once per process and shared; the plugin around it stays per call."""
    import samtranslator.translator.translator as translator_module

    translator_module.make_policy_template_for_function_plugin = _policy_template_plugin


def _run_translator(template: dict[str, Any]) -> dict[str, Any] | str:
    """The translated template, or a one-line reason why the translator refused it."""
    from samtranslator.model.exceptions import InvalidDocumentException, InvalidTemplateException
    from samtranslator.parser.parser import Parser
    from samtranslator.translator.translator import Translator

    _reuse_policy_templates()
    session: Any = types.SimpleNamespace(region_name="us-east-1")  # only read for the partition: "aws"
    translator = Translator(None, Parser(), boto_session=session)
    try:
        output: dict[str, Any] = translator.translate(
            template, parameter_values=dict(_PSEUDO),  # a private copy already (_plain)
            get_managed_policy_map=lambda: {}, passthrough_metadata=True,
        )
        return output
    except InvalidDocumentException as exc:
        return "SAM template is invalid: " + "; ".join(cause.message for cause in exc.causes)[:500]
    except InvalidTemplateException as exc:
        return f"SAM template is invalid: {exc.message}"
    except Exception as exc:  # the translator is third-party code: never let it crash the scan
        return f"SAM translation failed: {type(exc).__name__}: {exc}"[:300]
    finally:
        translator.metrics.publish()  # a no-op publisher; otherwise it warns on stderr when collected


def translate(
    source: Mapping[str, Any], template_dir: Path, root: Path, rel: str, cache_dir: str | None = None,
    expander: str = "native",
) -> Translated:
    """Expand a SAM template: with lambdasec's native expander when it supports every feature the template
    uses (``expander="native"``), otherwise (or with ``expander="official"``) with aws-sam-translator."""
    preparer = _Preparer(template_dir, root, rel, source)
    template = _plain(source)
    preparer.prepare(template)
    output: Mapping[str, Any] | None = None
    if expander == "native":
        from .sam_native import expand

        output = expand(template)
    cache = TranslationCache(Path(cache_dir)) if cache_dir and output is None else None
    key = cache.key(template) if cache else ""
    if cache:
        output = cache.get(key)
    if output is None:
        result = _run_translator(template)
        if isinstance(result, str):
            return _failed(source, preparer, Location(rel, None, None, ()), result)
        output = result
        if cache:
            cache.put(key, output)
    local: dict[str, str] = {}
    sources = sorted(preparer.local_code, key=len, reverse=True)
    for generated_id in output.get("Resources", {}):
        origin = next((s for s in sources if generated_id.startswith(s)), None)
        if origin is not None:
            local[generated_id] = preparer.local_code[origin]
    return Translated(output, local, preparer.gaps)


def _failed(source: Mapping[str, Any], preparer: _Preparer, where: Location, message: str) -> Translated:
    preparer.gaps.append(CoverageGap(
        "parse-error", message + " (AWS::Serverless resources were not analyzed)", where))
    return Translated(_without_sam_resources(source), {}, preparer.gaps)
