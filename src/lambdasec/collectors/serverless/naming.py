"""The logical ids the Serverless Framework gives the resources it generates.

Users reference them from the ``resources`` section (``!GetAtt HelloLambdaFunction.Arn``,
``!Ref IamRoleLambdaExecution``) and override them there, so they must match the Framework's.
"""

from __future__ import annotations

import re

SHARED_ROLE = "IamRoleLambdaExecution"
REST_API = "ApiGatewayRestApi"
HTTP_API = "HttpApi"


def capitalized(name: str) -> str:
    return name[:1].upper() + name[1:]


def normalized(name: str) -> str:
    """``my-fn_v2`` -> ``MyDashfnUnderscorev2``: the Framework's alphanumeric form of a name."""
    spelled = name.replace("-", "Dash").replace("_", "Underscore")
    return capitalized(re.sub(r"[^A-Za-z0-9]", "", spelled))


def function(key: str) -> str:
    return f"{normalized(key)}LambdaFunction"


def log_group(key: str) -> str:
    return f"{normalized(key)}LogGroup"


def function_url(key: str) -> str:
    return f"{normalized(key)}LambdaFunctionUrl"


def event_invoke_config(key: str) -> str:
    return f"{normalized(key)}LambdaEvConf"


def layer(key: str) -> str:
    return f"{normalized(key)}LambdaLayer"


def function_role(key: str) -> str:
    """The role the serverless-iam-roles-per-function plugin creates for one function."""
    return f"{normalized(key)}IamRoleLambdaExecution"
