"""Who can reach a function: function URLs, resource policies, layer sharing and API routes."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ..analysis.exposure import (
    classify_principal,
    is_set,
    permission_restricted,
    source_unpinned,
)
from ..model.findings import Confidence, Severity
from ..model.inventory import ApiRoute, Function, Inventory, LayerVersion, Permission, Resource
from ..model.values import Unresolved, Value
from .base import Context, Outcome, Rule

CATEGORY = "exposure"

# Literal actions a function resource policy may grant without giving more than invocation.
_INVOKE_ACTIONS = frozenset({
    "lambda:invokefunction", "lambda:invokefunctionurl",
    "lambda:invokeasync", "lambda:invokewithresponsestream",
})
_KNOWN_API_AUTHORIZATIONS = frozenset({"AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS", "JWT"})


# ---------------------------------------------------------------- shared helpers
def _shown(value: Any) -> str:
    return value.expression if isinstance(value, Unresolved) else str(value)


def _function_name(inventory: Inventory, ref: Value) -> str:
    fn = inventory.function_for(ref)
    return fn.id if fn is not None else _shown(ref)


def _trusted_accounts(inventory: Inventory, context: Context) -> set[str]:
    configured = context.option("trusted_accounts", [])
    if isinstance(configured, (str, int)):
        configured = [configured]
    return set(inventory.own_accounts) | {str(account).strip() for account in configured}


# ---------------------------------------------------------------- EXP001
def check_function_url_auth_none(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for url in inventory.function_urls:
        function = _function_name(inventory, url.function)
        auth_type = url.auth_type
        if isinstance(auth_type, str):
            if auth_type.strip().upper() == "NONE":
                yield EXP001.finding(
                    inventory, url,
                    f"Function URL {url.id} of function {function} has AuthType NONE: anyone who knows "
                    "the URL can invoke the function without signing the request.",
                    location=url.at("AuthType"),
                    evidence={"auth_type": "NONE", "function": function},
                )
            continue
        yield EXP001.finding(
            inventory, url,
            f"Function URL {url.id} of function {function} takes its AuthType from {_shown(auth_type)}, "
            "known only at deploy time; if it is NONE the URL is public.",
            location=url.at("AuthType"),
            confidence=Confidence.LOW,
            evidence={"auth_type": _shown(auth_type), "function": function},
        )


# ---------------------------------------------------------------- EXP002
def check_function_url_cors_any_origin(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for url in inventory.function_urls:
        origins = url.cors_allow_origins
        if origins is None:
            continue
        if not isinstance(origins, list):
            yield EXP002.not_evaluated(url, f"Cors.AllowOrigins is {_shown(origins)}, known at deploy time")
            continue
        wildcard = next((i for i, o in enumerate(origins) if isinstance(o, str) and o.strip() == "*"), None)
        if wildcard is not None:
            function = _function_name(inventory, url.function)
            yield EXP002.finding(
                inventory, url,
                f"Function URL {url.id} of function {function} allows CORS requests from any origin ('*'): "
                "every web page can call it from a visitor's browser and read the response.",
                location=url.at(f"Cors.AllowOrigins.{wildcard}"),
                evidence={"origin": "*", "auth_type": _shown(url.auth_type), "function": function},
            )
            continue
        unknown = [_shown(o) for o in origins if not isinstance(o, str)]
        if unknown:
            yield EXP002.not_evaluated(
                url, f"Cors.AllowOrigins contains {', '.join(unknown)}, known only at deploy time"
            )


# ---------------------------------------------------------------- EXP003
def check_resource_policy_public(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for permission in inventory.permissions:
        if permission_restricted(permission):
            continue
        principal = classify_principal(permission.principal)
        if principal.kind == "unknown":
            yield EXP003.not_evaluated(
                permission,
                f"principal {principal.shown} is known only at deploy time and no SourceArn, SourceAccount "
                "or PrincipalOrgID restricts it",
            )
        elif principal.kind == "public":
            yield _public_permission_finding(inventory, permission)


def _public_permission_finding(inventory: Inventory, permission: Permission) -> Outcome:
    function = _function_name(inventory, permission.function)
    action = _shown(permission.action)
    url_auth = permission.function_url_auth_type
    if permission.invoked_via_function_url:
        message = (
            f"Permission {permission.id} grants {action} on function {function} to everyone (Principal '*') "
            "for calls made through its function URL: with an AuthType NONE URL, anyone on the internet can "
            "invoke the function."
        )
    elif isinstance(url_auth, str) and url_auth.strip().upper() == "NONE":
        message = (
            f"Permission {permission.id} grants {action} on function {function} to everyone (Principal '*', "
            "FunctionUrlAuthType NONE): together with an AuthType NONE function URL, anyone on the internet "
            "can invoke the function."
        )
    else:
        message = (
            f"Permission {permission.id} grants {action} on function {function} to every AWS principal "
            "(Principal '*') with no SourceArn, SourceAccount or PrincipalOrgID condition."
        )
    return EXP003.finding(
        inventory, permission, message,
        location=permission.at("Principal"),
        evidence={"principal": "*", "action": action, "function": function,
                  "function_url_auth_type": None if url_auth is None else _shown(url_auth),
                  "invoked_via_function_url": permission.invoked_via_function_url},
    )


# ---------------------------------------------------------------- EXP004
def check_service_permission_without_source(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for permission in inventory.permissions:
        principal = classify_principal(permission.principal)
        if not source_unpinned(permission, principal.shown):
            continue
        if principal.kind == "unknown":
            yield EXP004.not_evaluated(
                permission,
                f"principal {principal.shown} is known only at deploy time and may be a service principal; "
                "no SourceArn or SourceAccount is set",
            )
        elif principal.kind == "service":
            function = _function_name(inventory, permission.function)
            why = ("its SourceArn is an S3 bucket ARN, which names no account (a bucket of the same name in "
                   "another account matches), and SourceAccount is not set" if is_set(permission.source_arn)
                   else "neither SourceArn nor SourceAccount is set")
            yield EXP004.finding(
                inventory, permission,
                f"Permission {permission.id} lets service principal {principal.shown} invoke function "
                f"{function} on behalf of any resource in any account: {why}.",
                location=permission.at("Principal"),
                evidence={"principal": principal.shown, "action": _shown(permission.action),
                          "function": function},
            )


# ---------------------------------------------------------------- EXP005
def is_invoke_only(action: str) -> bool:
    """True when every action the (possibly wildcarded) name can match is an invoke action."""
    lowered = action.strip().lower()
    if "*" not in lowered and "?" not in lowered:
        return lowered in _INVOKE_ACTIONS
    # A wildcard after "lambda:invoke" can only match invoke actions (lambda:Invoke*).
    return re.split(r"[*?]", lowered, maxsplit=1)[0].startswith("lambda:invoke")


def check_permission_non_invoke_action(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for permission in inventory.permissions:
        action = permission.action
        if not isinstance(action, str) or not action.strip():
            yield EXP005.not_evaluated(
                permission, f"Action is {_shown(action) or 'missing'}, not a literal action"
            )
            continue
        if is_invoke_only(action):
            continue
        function = _function_name(inventory, permission.function)
        principal = classify_principal(permission.principal).shown
        yield EXP005.finding(
            inventory, permission,
            f"Permission {permission.id} grants {action.strip()} on function {function} to {principal}: "
            "a function's resource policy should grant only lambda:InvokeFunction or "
            "lambda:InvokeFunctionUrl.",
            location=permission.at("Action"),
            evidence={"action": action.strip(), "principal": principal, "function": function},
        )


# ---------------------------------------------------------------- EXP006
def check_invoke_granted_to_other_account(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    trusted = _trusted_accounts(inventory, context)
    for permission in inventory.permissions:
        principal = classify_principal(permission.principal)
        if principal.kind == "unknown":
            yield EXP006.not_evaluated(
                permission,
                f"principal {principal.shown} is known only at deploy time; its account is unknown",
            )
        elif principal.kind == "account" and principal.account not in trusted:
            function = _function_name(inventory, permission.function)
            yield EXP006.finding(
                inventory, permission,
                f"Permission {permission.id} grants {_shown(permission.action)} on function {function} to "
                f"{principal.shown}, in account {principal.account} which is neither this account nor a "
                "trusted account.",
                location=permission.at("Principal"),
                evidence={"principal": principal.shown, "account": principal.account,
                          "action": _shown(permission.action), "function": function},
            )


# ---------------------------------------------------------------- EXP007
def check_layer_version_public(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for grant in inventory.layer_permissions:
        if is_set(grant.organization_id):
            continue
        principal = classify_principal(grant.principal)
        layer = inventory.get(grant.layer)
        layer_name = layer.id if layer is not None else _shown(grant.layer)
        if principal.kind == "unknown":
            yield EXP007.not_evaluated(
                grant,
                f"principal {principal.shown} is known only at deploy time and no OrganizationId is set",
            )
        elif principal.kind == "public":
            yield EXP007.finding(
                inventory, grant,
                f"Layer permission {grant.id} shares layer {layer_name} with every AWS account "
                "(Principal '*', no OrganizationId): anyone can download its content.",
                location=grant.at("Principal"),
                functions=_functions_using_layer(inventory, layer),
                evidence={"principal": "*", "action": _shown(grant.action), "layer": layer_name},
            )


def _functions_using_layer(inventory: Inventory, layer: Resource | None) -> list[Function]:
    if not isinstance(layer, LayerVersion):
        return []
    return [fn for fn in inventory.functions if any(inventory.get(ref) is layer for ref in fn.layers)]


# ---------------------------------------------------------------- EXP008
def check_api_route_without_authorizer(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for route in inventory.api_routes:
        authorization = route.authorization.strip().upper() if isinstance(route.authorization, str) else ""
        if authorization in _KNOWN_API_AUTHORIZATIONS:
            continue
        if authorization != "NONE":
            yield EXP008.not_evaluated(route, f"AuthorizationType {route.authorization!r} is not understood")
        elif route.method.strip().upper() != "OPTIONS":
            # CORS preflight requests never carry credentials, so OPTIONS must stay open.
            yield _open_route_finding(inventory, route)


def _open_route_finding(inventory: Inventory, route: ApiRoute) -> Outcome:
    function = _function_name(inventory, route.function)
    message = (
        f"Route {route.method} {route.path} of API {route.api} invokes function {function} with no "
        "authorization (AuthorizationType NONE): anyone who can reach the API can call it."
    )
    if route.api_key_required:
        message += " It requires an API key, but API keys identify clients, they do not authenticate them."
    return EXP008.finding(
        inventory, route, message,
        location=route.at("AuthorizationType"),
        evidence={"api": route.api, "method": route.method, "path": route.path, "function": function,
                  "api_key_required": route.api_key_required},
    )


# ---------------------------------------------------------------- rules
EXP001 = Rule(
    code="EXP001",
    slug="function-url-auth-none",
    title="Function URL does not require authentication",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "A function URL with AuthType NONE is an HTTPS endpoint that Lambda invokes for unsigned requests. "
        "The function then has to authenticate every caller itself, and anyone who learns the URL can run "
        "it, reach whatever its execution role can reach and drive up its cost. A function URL has no "
        "authorizer, usage plan or WAF of its own to fall back on."
    ),
    remediation=(
        "Set AuthType to AWS_IAM and have callers sign their requests with SigV4 (grant them "
        "lambda:InvokeFunctionUrl), or put the function behind API Gateway with an authorizer, or behind "
        "CloudFront with origin access control. Keep AuthType NONE only for endpoints that are meant to be "
        "public and that authenticate requests in code, such as webhooks that verify a signature."
    ),
    check=check_function_url_auth_none,
    needs=("urls",),
    snippets={
        "cloudformation": (
            "FunctionUrl:\n"
            "  Type: AWS::Lambda::Url\n"
            "  Properties:\n"
            "    TargetFunctionArn: !GetAtt Function.Arn\n"
            "    AuthType: AWS_IAM\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    FunctionUrlConfig:\n"
            "      AuthType: AWS_IAM\n"
        ),
        "terraform": (
            'resource "aws_lambda_function_url" "this" {\n'
            "  function_name      = aws_lambda_function.this.function_name\n"
            '  authorization_type = "AWS_IAM"\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/urls-auth.html",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-lambda-url.html",
    ),
    anchors={
        "checkov": ("CKV_AWS_258",),
        "prowler": ("awslambda_function_url_public",),
        "kics": (),
        "securityhub": (),
    },
)

EXP002 = Rule(
    code="EXP002",
    slug="function-url-cors-any-origin",
    title="Function URL allows CORS requests from any origin",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "CORS AllowOrigins '*' tells browsers that scripts on any web site may call the function URL and "
        "read its responses. Any page can then use the function as its own backend from its visitors' "
        "browsers, and whatever the function returns to those callers is readable by that page. CORS should "
        "list only the front-end origins that actually use the URL."
    ),
    remediation=(
        "Replace '*' in Cors.AllowOrigins with the exact origins (scheme, host and port) of the web "
        "applications that call the function URL, and restrict AllowMethods and AllowHeaders to what they "
        "use. Remove the Cors block entirely when no browser calls the URL."
    ),
    check=check_function_url_cors_any_origin,
    needs=("urls",),
    snippets={
        "cloudformation": (
            "FunctionUrl:\n"
            "  Type: AWS::Lambda::Url\n"
            "  Properties:\n"
            "    TargetFunctionArn: !GetAtt Function.Arn\n"
            "    AuthType: AWS_IAM\n"
            "    Cors:\n"
            "      AllowOrigins:\n"
            "        - https://app.example.com\n"
            "      AllowMethods: [GET, POST]\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    FunctionUrlConfig:\n"
            "      AuthType: AWS_IAM\n"
            "      Cors:\n"
            "        AllowOrigins:\n"
            "          - https://app.example.com\n"
        ),
        "terraform": (
            'resource "aws_lambda_function_url" "this" {\n'
            "  function_name      = aws_lambda_function.this.function_name\n"
            '  authorization_type = "AWS_IAM"\n'
            "  cors {\n"
            '    allow_origins = ["https://app.example.com"]\n'
            '    allow_methods = ["GET", "POST"]\n'
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/urls-configuration.html",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-lambda-url-cors.html",
    ),
    anchors={
        "checkov": (),
        "prowler": ("awslambda_function_url_cors_policy",),
        "kics": (),
        "securityhub": (),
    },
)

EXP003 = Rule(
    code="EXP003",
    slug="resource-policy-public",
    title="Function resource policy grants access to everyone",
    severity=Severity.CRITICAL,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "A Lambda permission with Principal '*' and no SourceArn, SourceAccount or PrincipalOrgID condition "
        "adds a statement to the function's resource policy that any AWS account can use. For a function "
        "URL with AuthType NONE it is what makes the URL callable by anyone on the internet. A public "
        "function runs attacker-chosen input with its execution role's permissions and bills every "
        "invocation to its owner."
    ),
    remediation=(
        "Name the principal that needs access: a service principal restricted with SourceArn and "
        "SourceAccount, or an account or role ARN. Keep Principal '*' only together with PrincipalOrgID to "
        "limit access to your AWS Organization. For function URLs prefer AuthType AWS_IAM, and keep a public "
        "URL permission only for endpoints that are meant to be public and authenticate requests in code."
    ),
    check=check_resource_policy_public,
    needs=("policy", "aliases"),
    snippets={
        "cloudformation": (
            "InvokePermission:\n"
            "  Type: AWS::Lambda::Permission\n"
            "  Properties:\n"
            "    FunctionName: !Ref Function\n"
            "    Action: lambda:InvokeFunction\n"
            "    Principal: '*'\n"
            "    PrincipalOrgID: o-a1b2c3d4e5\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    FunctionUrlConfig:\n"
            "      AuthType: AWS_IAM   # SAM then adds no public permission\n"
        ),
        "terraform": (
            'resource "aws_lambda_permission" "org" {\n'
            "  function_name    = aws_lambda_function.this.function_name\n"
            '  action           = "lambda:InvokeFunction"\n'
            '  principal        = "*"\n'
            '  principal_org_id = "o-a1b2c3d4e5"\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-organization.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/lambda-controls.html",
    ),
    anchors={
        "checkov": ("CKV_AWS_301",),
        "prowler": ("awslambda_function_not_publicly_accessible",),
        "kics": ("1d6e16f1-5d8a-4379-bfb3-2dadd38ed5a7",),
        "securityhub": ("Lambda.1",),
    },
)

EXP004 = Rule(
    code="EXP004",
    slug="service-permission-without-source",
    title="Service principal may invoke the function on behalf of any account",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "A permission for a service principal such as s3.amazonaws.com or sns.amazonaws.com without "
        "SourceArn or SourceAccount lets that service invoke the function for any resource, including "
        "resources in other AWS accounts. Anyone can then point their own bucket, topic or rule at the "
        "function and feed it events: the confused deputy problem. The conditions tie the grant to the "
        "resource that is meant to trigger the function."
    ),
    remediation=(
        "Set SourceArn to the ARN of the bucket, topic, rule, log group or API that triggers the function, "
        "and SourceAccount to the account that owns it (needed for S3, whose bucket ARNs carry no account "
        "id). SAM event sources add these conditions for you."
    ),
    check=check_service_permission_without_source,
    needs=("policy", "aliases"),
    snippets={
        "cloudformation": (
            "BucketInvokePermission:\n"
            "  Type: AWS::Lambda::Permission\n"
            "  Properties:\n"
            "    FunctionName: !Ref Function\n"
            "    Action: lambda:InvokeFunction\n"
            "    Principal: s3.amazonaws.com\n"
            "    SourceArn: !GetAtt UploadsBucket.Arn\n"
            "    SourceAccount: !Ref AWS::AccountId\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Events:\n"
            "      Upload:\n"
            "        Type: S3   # SAM restricts the permission to the bucket's account\n"
            "        Properties:\n"
            "          Bucket: !Ref UploadsBucket\n"
            "          Events: s3:ObjectCreated:*\n"
        ),
        "terraform": (
            'resource "aws_lambda_permission" "bucket" {\n'
            "  function_name  = aws_lambda_function.this.function_name\n"
            '  action         = "lambda:InvokeFunction"\n'
            '  principal      = "s3.amazonaws.com"\n'
            "  source_arn     = aws_s3_bucket.uploads.arn\n"
            "  source_account = data.aws_caller_identity.current.account_id\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-services.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html",
    ),
    anchors={
        "checkov": ("CKV_AWS_364",),
        "prowler": (),
        "kics": (),
        "securityhub": (),
    },
)

EXP005 = Rule(
    code="EXP005",
    slug="permission-non-invoke-action",
    title="Function resource policy grants more than invocation",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "A function's resource policy can grant other actions on the function than invocation. "
        "lambda:GetFunction lets the principal download the deployment package and read the configuration, "
        "environment variables included, and lambda:* also covers actions that change the function's "
        "aliases and settings. Callers and event sources only ever need lambda:InvokeFunction or "
        "lambda:InvokeFunctionUrl."
    ),
    remediation=(
        "Set Action to lambda:InvokeFunction (or lambda:InvokeFunctionUrl for a function URL). If another "
        "account really needs to read or manage the function, give it an IAM role in this account to "
        "assume, where the access is scoped, logged and easy to revoke."
    ),
    check=check_permission_non_invoke_action,
    needs=("policy", "aliases"),
    snippets={
        "cloudformation": (
            "InvokePermission:\n"
            "  Type: AWS::Lambda::Permission\n"
            "  Properties:\n"
            "    FunctionName: !Ref Function\n"
            "    Action: lambda:InvokeFunction\n"
            "    Principal: events.amazonaws.com\n"
            "    SourceArn: !GetAtt ScheduleRule.Arn\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    Events:\n"
            "      Hourly:\n"
            "        Type: Schedule   # SAM grants only lambda:InvokeFunction\n"
            "        Properties:\n"
            "          Schedule: rate(1 hour)\n"
        ),
        "terraform": (
            'resource "aws_lambda_permission" "events" {\n'
            "  function_name = aws_lambda_function.this.function_name\n"
            '  action        = "lambda:InvokeFunction"\n'
            '  principal     = "events.amazonaws.com"\n'
            "  source_arn    = aws_cloudwatch_event_rule.hourly.arn\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/access-control-resource-based.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-cross-account.html",
    ),
    anchors={
        "checkov": (),
        "prowler": (),
        "kics": ("9b83114b-b2a1-4534-990d-06da015e47aa",),
        "securityhub": (),
    },
)

EXP006 = Rule(
    code="EXP006",
    slug="invoke-granted-to-other-account",
    title="Function resource policy grants access to another AWS account",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "A permission whose principal is an account id, an account root ARN or a role or user ARN of another "
        "account lets that account invoke the function. Whoever controls that account, including an "
        "attacker who compromised it, can call the function with chosen input and act through its execution "
        "role. Such grants should be deliberate, limited to trusted accounts and reviewed when they change."
    ),
    remediation=(
        "Remove the permission if the other account does not need it. Otherwise grant it to the narrowest "
        "principal (a role ARN rather than the whole account), grant only lambda:InvokeFunction, preferably "
        "on an alias, and list the account in the trusted_accounts option so that lambdasec accepts it."
    ),
    check=check_invoke_granted_to_other_account,
    needs=("policy", "aliases"),
    snippets={
        "cloudformation": (
            "PartnerInvokePermission:\n"
            "  Type: AWS::Lambda::Permission\n"
            "  Properties:\n"
            "    FunctionName: !Ref FunctionLiveAlias\n"
            "    Action: lambda:InvokeFunction\n"
            "    Principal: arn:aws:iam::111122223333:role/order-sync   # a trusted, named role\n"
        ),
        "sam": (
            "PartnerInvokePermission:\n"
            "  Type: AWS::Lambda::Permission\n"
            "  Properties:\n"
            "    FunctionName: !Ref Function.Alias   # requires AutoPublishAlias\n"
            "    Action: lambda:InvokeFunction\n"
            "    Principal: arn:aws:iam::111122223333:role/order-sync\n"
        ),
        "terraform": (
            'resource "aws_lambda_permission" "partner" {\n'
            "  function_name = aws_lambda_function.this.function_name\n"
            "  qualifier     = aws_lambda_alias.live.name\n"
            '  action        = "lambda:InvokeFunction"\n'
            '  principal     = "arn:aws:iam::111122223333:role/order-sync"\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/permissions-function-cross-account.html",
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-resources.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

EXP007 = Rule(
    code="EXP007",
    slug="layer-version-public",
    title="Lambda layer version is shared with every AWS account",
    severity=Severity.HIGH,
    confidence=Confidence.HIGH,
    category=CATEGORY,
    rationale=(
        "A layer version permission with Principal '*' and no OrganizationId lets any AWS account call "
        "GetLayerVersion and download the layer's content. Layers often hold shared libraries, internal "
        "clients, configuration or embedded credentials that reveal how the functions using them work and "
        "what they can reach."
    ),
    remediation=(
        "Grant lambda:GetLayerVersion to the account ids that use the layer, or keep Principal '*' only "
        "together with OrganizationId to share it inside your AWS Organization. Share a layer with all "
        "accounts only when it is meant to be public and contains nothing internal."
    ),
    check=check_layer_version_public,
    snippets={
        "cloudformation": (
            "LayerPermission:\n"
            "  Type: AWS::Lambda::LayerVersionPermission\n"
            "  Properties:\n"
            "    LayerVersionArn: !Ref SharedLayer\n"
            "    Action: lambda:GetLayerVersion\n"
            "    Principal: '*'\n"
            "    OrganizationId: o-a1b2c3d4e5\n"
        ),
        "sam": (
            "LayerPermission:\n"
            "  Type: AWS::Lambda::LayerVersionPermission\n"
            "  Properties:\n"
            "    LayerVersionArn: !Ref SharedLayer   # an AWS::Serverless::LayerVersion\n"
            "    Action: lambda:GetLayerVersion\n"
            "    Principal: '*'\n"
            "    OrganizationId: o-a1b2c3d4e5\n"
        ),
        "terraform": (
            'resource "aws_lambda_layer_version_permission" "org" {\n'
            "  layer_name      = aws_lambda_layer_version.shared.layer_arn\n"
            "  version_number  = aws_lambda_layer_version.shared.version\n"
            '  statement_id    = "org"\n'
            '  action          = "lambda:GetLayerVersion"\n'
            '  principal       = "*"\n'
            '  organization_id = "o-a1b2c3d4e5"\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/permissions-layer-cross-account.html",
        "https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/"
        "aws-resource-lambda-layerversionpermission.html",
    ),
    anchors={"checkov": (), "prowler": (), "kics": (), "securityhub": ()},
)

EXP008 = Rule(
    code="EXP008",
    slug="api-route-without-authorizer",
    title="API Gateway route invokes a function without authorization",
    severity=Severity.MEDIUM,
    confidence=Confidence.MEDIUM,
    category=CATEGORY,
    rationale=(
        "An API Gateway method or route with AuthorizationType NONE passes every request that reaches the "
        "API to the function, so unless the function authenticates callers itself anyone can invoke it with "
        "chosen input. API keys do not change this: they identify clients for usage plans, travel in a plain "
        "header and are not meant for authentication. Confidence is medium because an API resource policy "
        "or a private endpoint may still restrict who reaches the API."
    ),
    remediation=(
        "Attach an authorizer to the route: AWS_IAM for service-to-service calls, a Cognito user pool or JWT "
        "authorizer for users, or a Lambda (CUSTOM) authorizer. In SAM, set Auth.DefaultAuthorizer on the "
        "API so that every route is protected, and opt out explicitly (Authorizer: NONE) only for routes "
        "that are meant to be public."
    ),
    check=check_api_route_without_authorizer,
    snippets={
        "cloudformation": (
            "ItemsGet:\n"
            "  Type: AWS::ApiGateway::Method\n"
            "  Properties:\n"
            "    RestApiId: !Ref Api\n"
            "    ResourceId: !Ref ItemsResource\n"
            "    HttpMethod: GET\n"
            "    AuthorizationType: COGNITO_USER_POOLS\n"
            "    AuthorizerId: !Ref UserPoolAuthorizer\n"
        ),
        "sam": (
            "Api:\n"
            "  Type: AWS::Serverless::Api\n"
            "  Properties:\n"
            "    StageName: prod\n"
            "    Auth:\n"
            "      DefaultAuthorizer: AWS_IAM\n"
        ),
        "terraform": (
            'resource "aws_apigatewayv2_route" "items" {\n'
            "  api_id             = aws_apigatewayv2_api.this.id\n"
            '  route_key          = "GET /items"\n'
            '  authorization_type = "JWT"\n'
            "  authorizer_id      = aws_apigatewayv2_authorizer.jwt.id\n"
            '  target             = "integrations/${aws_apigatewayv2_integration.fn.id}"\n'
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-control-access-to-api.html",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-access-control.html",
        "https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-api-usage-plans.html",
    ),
    anchors={
        "checkov": ("CKV_AWS_59", "CKV_AWS_309"),
        "prowler": ("apigateway_restapi_authorizers_enabled", "apigatewayv2_api_authorizers_enabled"),
        "kics": ("1056dfbb-5802-4762-bf2b-8b9b9684b1b0",),
        "securityhub": (),
    },
)

RULES: tuple[Rule, ...] = (EXP001, EXP002, EXP003, EXP004, EXP005, EXP006, EXP007, EXP008)
