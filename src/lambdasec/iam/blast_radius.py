"""What an execution role reaches besides privilege escalation: credentials, data, resource policies and
infrastructure, as reviewed tables, plus the test for "granted on every resource".

The tables name canonical catalogue actions (tests check each one against the catalogue). Access levels
("Write", "Permissions management") come from the catalogue itself; these tables only say which actions
return credentials, which read data, and which services are infrastructure.

How the identity rules split the work, so that one grant is reported once per question:

* IAM009 reports escalation methods, including the credential-minting ones (sts:AssumeRole,
  iam:CreateAccessKey, iam:CreateLoginProfile, iam:UpdateLoginProfile): IAM010 leaves them out.
* IAM012 reports "Permissions management" actions of every service but IAM (resource policies, ACLs,
  grants); IAM013 reports "Write" actions of infrastructure services plus IAM's own permissions
  management (identity policies); IAM003 reports the remaining writes on '*' (data services, and patterns
  that mix both).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

from lambdasec.fast_dataclass import dataclass


@dataclass(frozen=True)
class RiskAction:
    action: str  # canonical catalogue name
    what: str  # what it reaches, for messages: "secrets", "database credentials"...


# ---------------------------------------------------------------- IAM010: credentials
CREDENTIAL_ACTIONS: Final[tuple[RiskAction, ...]] = (
    RiskAction("rds-db:connect", "RDS database sign-in tokens"),
    RiskAction("redshift:GetClusterCredentials", "temporary Redshift database credentials"),
    RiskAction("redshift:GetClusterCredentialsWithIAM", "temporary Redshift database credentials"),
    RiskAction("redshift-serverless:GetCredentials", "temporary Redshift Serverless database credentials"),
    RiskAction("iam:CreateServiceSpecificCredential", "service-specific passwords of IAM users"),
    RiskAction("iam:ResetServiceSpecificCredential", "service-specific passwords of IAM users"),
    RiskAction("iam:UploadSSHPublicKey", "CodeCommit SSH access as IAM users"),
    RiskAction("cognito-identity:GetOpenIdTokenForDeveloperIdentity",
               "identity-pool tokens of any developer-authenticated identity"),
    RiskAction("cognito-idp:AdminSetUserPassword", "passwords of application users"),
    RiskAction("lambda:GetFunction", "environment variables and code of functions"),
    RiskAction("lambda:GetFunctionConfiguration", "environment variables of functions"),
    RiskAction("glue:GetConnection", "database passwords of Glue connections"),
    RiskAction("glue:GetConnections", "database passwords of Glue connections"),
)

_CREDENTIAL_NAMES: Final = frozenset(risk.action.lower() for risk in CREDENTIAL_ACTIONS)

# Actions often listed as "returning credentials" that IAM010 leaves out on purpose, with the reason.
NOT_CREDENTIAL_EXPOSURE: Final[dict[str, str]] = {
    "sts:AssumeRole": "an escalation method (IAM009 sts-assume-role), judged against the roles it reaches",
    "iam:CreateAccessKey": "an escalation method (IAM009 iam-create-access-key)",
    "iam:CreateLoginProfile": "an escalation method (IAM009 iam-create-login-profile)",
    "iam:UpdateLoginProfile": "an escalation method (IAM009 iam-update-login-profile)",
    "sts:GetSessionToken": "only IAM users' long-term keys may call it; role credentials get an error",
    "sts:GetFederationToken": "only IAM users' long-term keys may call it; role credentials get an error",
    "sts:AssumeRoleWithWebIdentity": "authorized by the identity token and the trust policy, not by the caller",
    "sts:AssumeRoleWithSAML": "authorized by the SAML assertion and the trust policy, not by the caller",
    "cognito-identity:GetCredentialsForIdentity": "an unauthenticated API: no IAM permission is evaluated",
    "sso:GetRoleCredentials": "not an IAM action: the portal API takes an IAM Identity Center access token",
    "ecr:GetAuthorizationToken": "the token carries the caller's own ECR permissions, nothing more",
    "codeartifact:GetAuthorizationToken": "the token carries the caller's own CodeArtifact permissions",
    "ec2:GetPasswordData": "the password is encrypted with the instance key pair, which the role does not hold",
    "secretsmanager:GetSecretValue": "reading data: IAM011 role-data-exfiltration",
}


# ---------------------------------------------------------------- IAM011: data
DATA_READ_ACTIONS: Final[tuple[RiskAction, ...]] = (
    RiskAction("secretsmanager:GetSecretValue", "secrets"),
    RiskAction("ssm:GetParameter", "SSM parameters"),
    RiskAction("ssm:GetParameters", "SSM parameters"),
    RiskAction("ssm:GetParametersByPath", "SSM parameters"),
    RiskAction("ssm:GetParameterHistory", "SSM parameters"),
    RiskAction("s3:GetObject", "S3 objects"),
    RiskAction("s3:GetObjectVersion", "S3 objects"),
    RiskAction("dynamodb:GetItem", "DynamoDB tables"),
    RiskAction("dynamodb:BatchGetItem", "DynamoDB tables"),
    RiskAction("dynamodb:Query", "DynamoDB tables"),
    RiskAction("dynamodb:Scan", "DynamoDB tables"),
    RiskAction("dynamodb:PartiQLSelect", "DynamoDB tables"),
    RiskAction("dynamodb:ExportTableToPointInTime", "DynamoDB tables"),
    RiskAction("dynamodb:GetRecords", "DynamoDB streams"),
    RiskAction("kms:Decrypt", "KMS-encrypted data"),
    RiskAction("sqs:ReceiveMessage", "SQS messages"),
    RiskAction("kinesis:GetRecords", "Kinesis records"),
    RiskAction("logs:GetLogEvents", "CloudWatch logs"),
    RiskAction("logs:FilterLogEvents", "CloudWatch logs"),
    RiskAction("rds-data:ExecuteStatement", "Aurora databases (Data API)"),
    RiskAction("ecr:BatchGetImage", "container images"),
    RiskAction("ecr:GetDownloadUrlForLayer", "container images"),
    RiskAction("codecommit:GitPull", "source repositories"),
    RiskAction("es:ESHttpGet", "OpenSearch domains"),
)


# ---------------------------------------------------------------- IAM013: infrastructure
# Services whose "Write" actions change what runs, how traffic flows, who may act, how things are deployed
# or watched. Data services (S3, DynamoDB, SQS, SNS, Kinesis, Secrets Manager...) are IAM003's.
INFRASTRUCTURE_SERVICES: Final[dict[str, str]] = {
    # compute and code
    "ec2": "compute and networking", "lambda": "compute", "ecs": "compute", "eks": "compute",
    "ecr": "container images", "autoscaling": "compute", "batch": "compute", "elasticbeanstalk": "compute",
    "lightsail": "compute",
    # traffic
    "elasticloadbalancing": "networking", "apigateway": "networking", "route53": "networking",
    "cloudfront": "networking", "wafv2": "networking", "network-firewall": "networking",
    # identity and account
    "iam": "identity", "organizations": "account", "account": "account", "sso": "identity",
    # deployment and automation
    "cloudformation": "deployment", "codebuild": "deployment", "codepipeline": "deployment",
    "codedeploy": "deployment", "ssm": "automation", "events": "automation", "scheduler": "automation",
    "states": "automation",
    # detection: changing these hides an attack
    "cloudtrail": "detection", "config": "detection", "guardduty": "detection", "securityhub": "detection",
    "access-analyzer": "detection",
}

# "Write" actions of infrastructure services that use the infrastructure rather than change it.
DATA_PLANE_ACTIONS: Final = frozenset({
    "lambda:invokefunction", "lambda:invokeasync", "lambda:invokefunctionurl",
    "events:putevents",
    "states:startexecution", "states:startsyncexecution", "states:sendtasksuccess", "states:sendtaskfailure",
    "states:sendtaskheartbeat",
    # SSM parameters are configuration data: reading them is IAM011's, writing them IAM003's.
    "ssm:putparameter", "ssm:deleteparameter", "ssm:deleteparameters", "ssm:labelparameterversion",
    "ssm:unlabelparameterversion",
})

WRITE: Final = "Write"
PERMISSIONS: Final = "Permissions management"


def changes_infrastructure(action: str, access_level: str | None) -> bool:
    """A Write action of an infrastructure service (not a data-plane one), or an IAM permissions change."""
    service = action.split(":", 1)[0].lower()
    if service == "iam" and access_level == PERMISSIONS:
        return True
    return access_level == WRITE and service in INFRASTRUCTURE_SERVICES and action.lower() not in DATA_PLANE_ACTIONS


def exposes_resources(action: str, access_level: str | None) -> bool:
    """A permissions-management action outside IAM: resource policies, ACLs, grants (IAM012).

    rds-db:connect is "Permissions management" for AWS, but it signs in to a database: IAM010's.
    """
    return (access_level == PERMISSIONS and action.split(":", 1)[0].lower() != "iam"
            and action.lower() not in _CREDENTIAL_NAMES)


def infrastructure_only(pattern: str) -> bool:
    """Whether every Write / Permissions-management action an action pattern covers is an infrastructure one.

    IAM003 leaves such patterns (``ec2:*``, ``cloudformation:Create*``) to IAM013. False when the catalogue
    knows no action of the pattern.
    """
    from .catalogue import catalogue

    known = catalogue()
    changes = [(a, known.access_level(a)) for a in known.expand(pattern)]
    changes = [(a, level) for a, level in changes if level in (WRITE, PERMISSIONS)]
    return bool(changes) and all(
        a.split(":", 1)[0].lower() in INFRASTRUCTURE_SERVICES and a.lower() not in DATA_PLANE_ACTIONS
        for a, _ in changes
    )


# ---------------------------------------------------------------- "every resource"
# ARNs of these services start with a name, not with a resource type: "bucket/*" is one bucket's objects.
_NO_TYPE_WORD: Final = frozenset({"s3", "sqs", "sns", "codecommit"})
_PSEUDO_PARAMETER = re.compile(r"\$\{AWS::[A-Za-z]+\}")
_TYPE_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*?(?:[:/]|(?=\*))(.*)", re.DOTALL)


def on_every_resource(resource: str, action: str) -> bool:
    """True for '*' or an ARN pattern that covers every resource of the action's service and kind.

    ``arn:aws:secretsmanager:*:*:secret:*``, ``arn:aws:s3:::*/*`` and ``arn:aws:logs:*:*:log-group:*:*``
    do; ``arn:aws:s3:::orders/*``, ``arn:aws:ssm:*:*:parameter/app/*`` do not. Region and account are not
    compared: every secret of one account is every secret.
    """
    return _covers_service(resource, action.split(":", 1)[0].lower())


@lru_cache(maxsize=8192)  # a pure function, asked for the same few resources and services for every role
def _covers_service(resource: str, service: str) -> bool:
    text = _PSEUDO_PARAMETER.sub("*", resource.strip())
    if _wildcards_only(text):
        return True
    parts = text.split(":", 5)
    if parts[0].lower() != "arn" or len(parts) < 3 or not _service_matches(parts[2], service):
        return False
    if len(parts) < 6:  # "arn:aws:s3:*": the last wildcard spans the remaining fields
        return _wildcards_only(parts[-1])
    name = parts[5]
    if _wildcards_only(name):
        return True
    if service in _NO_TYPE_WORD:
        return False
    typed = _TYPE_WORD.fullmatch(name)
    return typed is not None and _wildcards_only(typed.group(1))


def grant_applies(action: str, resource: str) -> bool:
    """False when the action supports only Resource '*' and the grant names something narrower.

    IAM authorizes such actions (lambda:CreateEventSourceMapping, ec2:Describe*...) against '*' alone, so a
    statement that lists them on an ARN grants nothing for them.
    """
    from .catalogue import catalogue

    info = catalogue().info(action)
    if info is None or info.resource_types:
        return True
    text = _PSEUDO_PARAMETER.sub("*", resource.strip())
    return bool(text) and set(text) <= {"*", "?"} and "*" in text


def _wildcards_only(text: str) -> bool:
    """Every ':' or '/' separated part is made of '*' only ('*', '*/*', '*:*')."""
    segments = re.split(r"[:/]", text)
    return bool(text) and all(segment and set(segment) == {"*"} for segment in segments)


def _service_matches(pattern: str, service: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern.lower())
    return re.fullmatch(regex, service) is not None
