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
def _loader() -> Any:
    import os

    import boto3
    import botocore.loaders

    loader = botocore.loaders.create_loader()
    # boto3's resource models live in its own package, beside botocore's service models.
    loader.search_paths.append(os.path.join(os.path.dirname(boto3.__file__), "data"))
    return loader


@functools.cache
def service_names() -> frozenset[str]:
    """Every botocore service name (``s3``, ``dynamodb``, ``stepfunctions``...)."""
    return frozenset(_loader().list_available_services("service-2"))


@functools.cache
def _model(service: str, kind: str) -> dict[str, Any] | None:
    if service not in service_names():
        return None
    from botocore.exceptions import DataNotFoundError

    try:
        model: dict[str, Any] = _loader().load_service_model(service, kind)
    except (DataNotFoundError, ValueError, OSError):
        return None
    return model


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
