"""API Gateway routes that invoke functions, from resources and from inline OpenAPI bodies."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ...model.inventory import ApiRoute
from ...model.values import ResourceRef, Unresolved

if TYPE_CHECKING:
    from .collector import TemplateCollector

_FUNCTION_IN_URI = re.compile(
    r"functions/\$\{([A-Za-z0-9]+)(?:\.Arn)?\}|functions/(arn:[^/]+:function:[^/]+)/invocations")
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "x-amazon-apigateway-any-method")


def collect_routes(collector: TemplateCollector) -> Iterator[ApiRoute]:
    for logical_id, resource in collector.resources.items():
        if not isinstance(resource, Mapping) or not isinstance(resource.get("Properties"), Mapping):
            continue
        kind, props = resource.get("Type"), resource["Properties"]
        if kind == "AWS::ApiGateway::Method":
            route = _rest_method(collector, logical_id, props)
            if route is not None:
                yield route
        elif kind == "AWS::ApiGatewayV2::Route":
            route = _http_route(collector, logical_id, props)
            if route is not None:
                yield route
        elif kind in ("AWS::ApiGateway::RestApi", "AWS::ApiGatewayV2::Api") and isinstance(
                props.get("Body"), Mapping):
            yield from _body_routes(collector, logical_id, props["Body"])


def function_of_uri(collector: TemplateCollector, uri: Any) -> ResourceRef | str | None:
    """The function an integration URI points at: a ResourceRef when it is in the template."""
    if isinstance(uri, ResourceRef):
        return uri
    text = uri.expression if isinstance(uri, Unresolved) else uri if isinstance(uri, str) else None
    if text is None:
        return None
    match = _FUNCTION_IN_URI.search(text)
    if match is None:
        return None
    if match.group(1):
        return ResourceRef(collector.key(match.group(1)), "Arn") if match.group(1) in collector.resources else None
    return match.group(2)


def _rest_method(collector: TemplateCollector, logical_id: str, props: Mapping[str, Any]) -> ApiRoute | None:
    integration = props.get("Integration")
    uri = collector.value(integration.get("Uri")) if isinstance(integration, Mapping) else None
    function = function_of_uri(collector, uri)
    if function is None:
        return None
    route = ApiRoute(**collector.base(logical_id, props))
    route.api = str(collector.value(props.get("RestApiId")) or "")
    route.method = str(collector.value(props.get("HttpMethod")) or "ANY").upper()
    route.path = _rest_path(collector, props.get("ResourceId"))
    route.function = function
    route.authorization = str(collector.value(props.get("AuthorizationType")) or "NONE").upper()
    route.api_key_required = collector.boolean(props.get("ApiKeyRequired"), False) is True
    return route


def _rest_path(collector: TemplateCollector, resource_id: Any, depth: int = 0) -> str:
    ref = collector.value(resource_id)
    if not isinstance(ref, ResourceRef) or depth > 30:
        return "/"
    resource = collector.resources.get(ref.key.rsplit("#", 1)[-1])
    if not isinstance(resource, Mapping) or resource.get("Type") != "AWS::ApiGateway::Resource":
        return "/"  # the API's root resource
    props = resource.get("Properties")
    props = props if isinstance(props, Mapping) else {}
    parent = _rest_path(collector, props.get("ParentId"), depth + 1)
    return parent.rstrip("/") + "/" + str(collector.value(props.get("PathPart")) or "")


def _http_route(collector: TemplateCollector, logical_id: str, props: Mapping[str, Any]) -> ApiRoute | None:
    target = collector.value(props.get("Target"))
    text = target.expression if isinstance(target, Unresolved) else target if isinstance(target, str) else ""
    match = re.search(r"integrations/\$\{([A-Za-z0-9]+)\}", text or "")
    integration = collector.resources.get(match.group(1)) if match else None
    if not isinstance(integration, Mapping) or not isinstance(integration.get("Properties"), Mapping):
        return None
    function = function_of_uri(collector, collector.value(integration["Properties"].get("IntegrationUri")))
    if function is None:
        return None
    route = ApiRoute(**collector.base(logical_id, props))
    route.api = str(collector.value(props.get("ApiId")) or "")
    route_key = str(collector.value(props.get("RouteKey")) or "$default")
    route.method, _, route.path = route_key.partition(" ") if " " in route_key else ("ANY", "", route_key)
    route.function = function
    route.authorization = str(collector.value(props.get("AuthorizationType")) or "NONE").upper()
    return route


def _body_routes(collector: TemplateCollector, api_id: str, body: Mapping[str, Any]) -> Iterator[ApiRoute]:
    schemes = _security_schemes(body)
    default_security = body.get("security")
    paths = body.get("paths")
    for path, operations in (paths.items() if isinstance(paths, Mapping) else ()):
        if not isinstance(operations, Mapping):
            continue
        for method, operation in operations.items():
            if method.lower() not in _METHODS or not isinstance(operation, Mapping):
                continue
            integration = operation.get("x-amazon-apigateway-integration")
            uri = collector.value(integration.get("uri")) if isinstance(integration, Mapping) else None
            function = function_of_uri(collector, uri)
            if function is None:
                continue
            verb = "ANY" if method.lower() == "x-amazon-apigateway-any-method" else method.upper()
            security = operation.get("security", default_security)
            route = ApiRoute(**collector.base(api_id, {}))
            route.key = f"{route.key}#{verb} {path}"
            route.id = f"{api_id} {verb} {path}"
            route.api, route.method, route.path, route.function = api_id, verb, str(path), function
            route.authorization, route.api_key_required = _authorization(security, schemes)
            if route.location.line is None and isinstance(function, ResourceRef):
                fn_id = function.key.rsplit("#", 1)[-1]
                route.location = collector.locator.prop(fn_id, ("Events",))
            yield route


def _security_schemes(body: Mapping[str, Any]) -> Mapping[str, Any]:
    definitions = body.get("securityDefinitions")
    if isinstance(definitions, Mapping):
        return definitions
    components = body.get("components")
    schemes = components.get("securitySchemes") if isinstance(components, Mapping) else None
    return schemes if isinstance(schemes, Mapping) else {}


def _authorization(security: Any, schemes: Mapping[str, Any]) -> tuple[str, bool]:
    """(authorization type, api key required) from an OpenAPI security requirement list."""
    api_key = False
    kinds: list[str] = []
    for requirement in security if isinstance(security, list) else []:
        for name in requirement if isinstance(requirement, Mapping) else ():
            scheme = schemes.get(name)
            if not isinstance(scheme, Mapping):
                continue
            auth_type = str(scheme.get("x-amazon-apigateway-authtype", "")).lower()
            authorizer = scheme.get("x-amazon-apigateway-authorizer")
            authorizer_type = str(authorizer.get("type", "")).lower() if isinstance(authorizer, Mapping) else ""
            if auth_type == "awssigv4":
                kinds.append("AWS_IAM")
            elif auth_type == "cognito_user_pools" or authorizer_type == "cognito_user_pools":
                kinds.append("COGNITO_USER_POOLS")
            elif authorizer_type == "jwt" or scheme.get("type") in ("oauth2", "openIdConnect"):
                kinds.append("JWT")
            elif authorizer_type in ("token", "request") or auth_type == "custom":
                kinds.append("CUSTOM")
            elif scheme.get("type") == "apiKey":
                api_key = True
    return (kinds[0] if kinds else "NONE"), api_key
