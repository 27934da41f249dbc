"""What the AWS SDK's own models say: services, operations, Python method names, waiters, boto3 resources.

Everything comes from the models botocore and boto3 ship (``service-2``, ``waiters-2``, ``resources-1``), read
lazily one service at a time and cached for the process, plus the curated names in ``data/sdk_operations.json``
for the SDK for JavaScript's package and class names that do not follow the models' names. Nothing here imports
or runs the analysed code, and botocore is only imported when a model is first needed.
"""

from __future__ import annotations

import functools
import json
import re
from importlib import resources
from typing import Any


@functools.cache
def curated() -> dict[str, Any]:
    """The curated table (data/sdk_operations.json)."""
    data: dict[str, Any] = json.loads((resources.files("lambdasec") / "data" / "sdk_operations.json").read_text(
        encoding="utf-8"))
    return data


@functools.cache
def _data_directories() -> tuple[str, ...]:
    """botocore's service models, then boto3's resource models, located without importing either package:
    botocore's loader pulls in urllib3 and its HTTP stack (0.2 s), boto3 its transfer manager (0.4 s)."""
    import importlib.util
    import os

    found = []
    for package in ("botocore", "boto3"):
        spec = importlib.util.find_spec(package)
        if spec is not None and spec.origin:
            found.append(os.path.join(os.path.dirname(spec.origin), "data"))
    return tuple(found)


def _model_file(directory: str, kind: str) -> str | None:
    """The model file of the latest API version holding ``kind`` (as botocore chooses it), or None."""
    import os

    try:
        versions = sorted(os.listdir(directory), reverse=True)
    except OSError:
        return None
    for version in versions:
        for suffix in (".json", ".json.gz"):
            path = os.path.join(directory, version, kind + suffix)
            if os.path.isfile(path):
                return path
    return None


def _read_json(path: str) -> Any:
    import gzip

    with (gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb")) as handle:
        return json.loads(handle.read())


@functools.cache
def service_names() -> frozenset[str]:
    """Every botocore service name (``s3``, ``dynamodb``, ``stepfunctions``...)."""
    import os

    names: set[str] = set()
    for data in _data_directories()[:1]:
        try:
            entries = os.listdir(data)
        except OSError:
            continue
        names.update(name for name in entries if _model_file(os.path.join(data, name), "service-2"))
    return frozenset(names)


@functools.cache
def _model(service: str, kind: str) -> dict[str, Any] | None:
    """A model as botocore's loader gives it: the latest version's file with its ``sdk-extras`` merged in."""
    import os

    if service not in service_names():
        return None
    for data in _data_directories():
        path = _model_file(os.path.join(data, service), kind)
        if path is None:
            continue
        try:
            model = _read_json(path)
            extras_path = os.path.join(os.path.dirname(path), f"{kind}.sdk-extras.json")
            if os.path.isfile(extras_path):
                _deep_merge(model, _read_json(extras_path).get("merge", {}))
        except (OSError, ValueError):
            return None
        return model if isinstance(model, dict) else None
    return None


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = value


def service_model(service: str) -> dict[str, Any] | None:
    return _model(service, "service-2")


def operations(service: str) -> dict[str, Any]:
    model = service_model(service)
    return dict(model.get("operations", {})) if model else {}


def metadata(service: str) -> dict[str, Any]:
    model = service_model(service)
    return dict(model.get("metadata", {})) if model else {}


@functools.cache
def _python_names(service: str) -> dict[str, str]:
    from botocore import xform_name

    return {xform_name(name): name for name in operations(service)}


def operation_for_method(service: str, method: str) -> str | None:
    """The operation a boto3 client method calls: ``list_objects_v2`` -> ``ListObjectsV2``."""
    return _python_names(service).get(method)


def operation_named(service: str, name: str) -> str | None:
    """The operation spelled ``name`` in any case (``getObject``, ``GetObject``)."""
    ops = operations(service)
    if name in ops:
        return name
    lowered = name.lower()
    return next((op for op in ops if op.lower() == lowered), None)


@functools.cache
def _waiters(service: str) -> dict[str, str]:
    """Waiter name, in PascalCase and snake_case, -> the operation it polls."""
    from botocore import xform_name

    model = _model(service, "waiters-2") or {}
    out: dict[str, str] = {}
    for name, waiter in model.get("waiters", {}).items():
        operation = waiter.get("operation")
        if isinstance(operation, str):
            out[name] = out[xform_name(name)] = operation
    return out


def waiter_operation(service: str, waiter: str) -> str | None:
    return _waiters(service).get(waiter)


def resource_model(service: str) -> dict[str, Any] | None:
    """boto3's resource model of a service (``dynamodb.Table``, ``s3.Bucket``...), None when it has none."""
    return _model(service, "resources-1")


def is_unauthenticated(service: str, operation: str) -> bool:
    """The model marks operations AWS answers without a signed request (``cognito-idp`` InitiateAuth)."""
    spec = operations(service).get(operation) or {}
    return spec.get("authtype") == "none" or spec.get("auth") == ["smithy.api#noAuth"]


@functools.cache
def _dashless_services() -> dict[str, str]:
    return {name.replace("-", ""): name for name in service_names()}


def service_for_v3_package(package: str) -> str | None:
    """``@aws-sdk/client-secrets-manager`` -> ``secretsmanager``; None for an unknown package."""
    match = re.fullmatch(r"@aws-sdk/client-([a-z0-9-]+)", package)
    if match is None:
        return None
    suffix = match.group(1)
    known = curated()["node_v3_packages"].get(suffix)
    if known is not None:
        return str(known)
    if suffix in service_names():
        return suffix
    return _dashless_services().get(suffix.replace("-", ""))


def service_for_v2_class(name: str, *, module: bool = False) -> str | None:
    """``AWS.SecretsManager`` -> ``secretsmanager``; None for a member that is not a service client (``AWS.config``:
    classes are capitalized). ``module``: the name is a module of ``aws-sdk/clients/`` (``secretsmanager``)."""
    if not module and not name[:1].isupper():
        return None
    known = {key.lower(): value for key, value in curated()["node_v2_classes"].items()}.get(name.lower())
    if known is not None:
        return str(known)
    return _dashless_services().get(name.lower())
