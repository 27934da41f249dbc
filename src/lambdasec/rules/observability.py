"""Observability: tracing, log retention and audit trails of function invocations."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any, Final

from ..model.findings import Confidence, Severity
from ..model.inventory import Function, Inventory, LogGroup, Trail
from ..model.location import Location
from ..model.values import ResourceRef, Unresolved
from .base import Context, Outcome, Rule

_LAMBDA_TYPE = "AWS::Lambda::Function"



# ---------------------------------------------------------------- OBS001
def _check_tracing(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for fn in inventory.functions:
        mode = fn.tracing_mode
        if mode == "Active":
            continue
        if isinstance(mode, (Unresolved, ResourceRef)):
            yield TRACING.not_evaluated(fn, f"the tracing mode is known only at deploy time ({mode})")
        elif mode is None:
            yield TRACING.finding(
                inventory, fn, f"Function {fn.id} has no TracingConfig: X-Ray active tracing is off")
        else:
            yield TRACING.finding(
                inventory, fn, f"Function {fn.id} has tracing mode {mode}: X-Ray active tracing is off",
                location=fn.at("TracingConfig.Mode"), evidence={"tracing_mode": mode})


TRACING = Rule(
    code="OBS001",
    slug="tracing-not-active",
    title="Function without X-Ray active tracing",
    severity=Severity.LOW,
    confidence=Confidence.HIGH,
    category="observability",
    rationale=(
        "Without active tracing, a function only records a trace when its caller already sampled one, so "
        "most invocations leave no record of the downstream calls they made. During an incident, traces "
        "show which services, tables and external endpoints an invocation reached, which logs alone "
        "rarely reconstruct."
    ),
    remediation=(
        "Set `TracingConfig.Mode` to `Active` (SAM: `Tracing: Active`, or in `Globals.Function`) and give "
        "the execution role the `xray:PutTraceSegments` and `xray:PutTelemetryRecords` permissions (the "
        "`AWSXRayDaemonWriteAccess` managed policy)."
    ),
    check=_check_tracing,
    snippets={
        "cloudformation": (
            "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    TracingConfig:\n"
            "      Mode: Active\n"
        ),
        "sam": (
            "Globals:\n"
            "  Function:\n"
            "    Tracing: Active\n"
        ),
        "terraform": (
            'resource "aws_lambda_function" "this" {\n'
            "  tracing_config {\n"
            '    mode = "Active"\n'
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/lambda-controls.html#lambda-7",
    ),
    anchors={
        "checkov": ("CKV_AWS_50",),
        "prowler": (),
        "kics": ("9488c451-074e-4cd3-aee3-7db6104f542c",),
        "securityhub": ("Lambda.7",),
    },
)


# ---------------------------------------------------------------- OBS002
def _writers(fn: Function) -> list[tuple[str, str]]:
    """Best effort, what a group must match for ``fn`` to write to it (among :func:`_log_group_keys`): the group
    its LoggingConfig names, else the default ``/aws/lambda/<name>``; a ``!Sub /aws/lambda/${Function}`` name stays
    unresolved but names the function by its logical id."""
    if isinstance(fn.log_group, ResourceRef):
        return [("key", fn.log_group.key)]
    if fn.log_group is not None:
        return [("name", fn.log_group)] if isinstance(fn.log_group, str) else []
    default = [("name", f"/aws/lambda/{fn.name}")] if isinstance(fn.name, str) else []
    return [*default, ("expression", f"/aws/lambda/${{{fn.id}}}")]


def _log_group_keys(group: LogGroup) -> list[tuple[str, str]]:
    if isinstance(group.name, str):
        return [("key", group.key), ("name", group.name)]
    if isinstance(group.name, Unresolved):
        return [("key", group.key), ("expression", group.name.expression)]
    return [("key", group.key)]


def _check_retention(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    # Functions by the groups they write to, built once: a live account has a log group per function, and
    # looking through every function for every group grows with the square of the account.
    writers: dict[tuple[str, str], list[int]] = {}
    for index, fn in enumerate(inventory.functions):
        for key in _writers(fn):
            writers.setdefault(key, []).append(index)
    for group in inventory.log_groups:
        retention = group.retention_days
        if isinstance(retention, Unresolved) and retention.may_be_absent:
            yield RETENTION.not_evaluated(
                group, f"the retention depends on a condition ({retention.expression})")
        elif retention is None:
            name = group.name if isinstance(group.name, str) else group.id
            yield RETENTION.finding(
                inventory, group, f"Log group {name} has no RetentionInDays: its events are kept forever",
                functions=[inventory.functions[index] for index in sorted(
                    {index for key in _log_group_keys(group) for index in writers.get(key, [])})])


RETENTION = Rule(
    code="OBS002",
    slug="log-group-without-retention",
    title="Log group kept forever",
    severity=Severity.LOW,
    confidence=Confidence.HIGH,
    category="observability",
    rationale=(
        "A log group without a retention period keeps every event forever. Function logs often contain "
        "request payloads, identifiers and sometimes tokens printed by mistake, so keeping them "
        "indefinitely widens what a leak of the logs exposes and usually breaks the data-retention "
        "policy; an explicit retention also documents how long evidence is available for investigations."
    ),
    remediation=(
        "Set `RetentionInDays` on every log group, including the `/aws/lambda/<function name>` groups "
        "that Lambda would otherwise create itself with no expiry (declare them in the template), "
        "choosing the period your investigation and compliance needs require; export older logs to an "
        "archive if they must be kept longer."
    ),
    check=_check_retention,
    snippets={
        "cloudformation": (
            "FunctionLogGroup:\n"
            "  Type: AWS::Logs::LogGroup\n"
            "  Properties:\n"
            "    LogGroupName: !Sub /aws/lambda/${Function}\n"
            "    RetentionInDays: 90\n"
        ),
        "sam": (
            "FunctionLogGroup:\n"
            "  Type: AWS::Logs::LogGroup\n"
            "  Properties:\n"
            "    LogGroupName: !Sub /aws/lambda/${Function}\n"
            "    RetentionInDays: 90\n"
        ),
        "terraform": (
            'resource "aws_cloudwatch_log_group" "function" {\n'
            '  name              = "/aws/lambda/${aws_lambda_function.this.function_name}"\n'
            "  retention_in_days = 90\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Working-with-log-groups-and-streams.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html",
    ),
    # Security Hub CloudWatch.16 and Prowler's retention check flag *short* retention and accept
    # "never expire": the opposite concern, so they are not listed.
    anchors={
        "checkov": ("CKV_AWS_66",),
        "prowler": (),
        "kics": (),
        "securityhub": (),
    },
)


# ---------------------------------------------------------------- OBS003
def _equals(selector: Mapping[str, Any], field: str, wanted: str) -> bool | None:
    """Whether an advanced field selector restricts `field` to a list holding `wanted` (None: not known)."""
    for item in selector.get("FieldSelectors") or []:
        if not isinstance(item, Mapping) or item.get("Field") != field:
            continue
        values = item.get("Equals")
        if isinstance(values, Unresolved):
            return None
        if isinstance(values, list):
            if wanted in values:
                return True
            if any(isinstance(v, Unresolved) for v in values):
                return None
    return False


def _records_lambda_data(trail: Trail) -> bool | None:
    """True when the trail records Lambda data events (Invoke); None when the selectors are not known."""
    unknown = False
    for selector in trail.event_selectors:
        for resource in selector.get("DataResources") or []:
            kind = resource.get("Type") if isinstance(resource, Mapping) else None
            if kind == _LAMBDA_TYPE:
                return True
            unknown = unknown or isinstance(kind, Unresolved)
    for advanced in trail.advanced_event_selectors:
        is_lambda, is_data = _equals(advanced, "resources.type", _LAMBDA_TYPE), _equals(
            advanced, "eventCategory", "Data")
        if is_lambda and is_data:
            return True
        unknown = unknown or (is_lambda is not False and is_data is not False)
    return None if unknown else False


def _check_trail(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for trail in inventory.trails:
        records = _records_lambda_data(trail)
        if trail.is_logging is False:
            yield TRAIL.finding(
                inventory, trail, f"Trail {trail.id} has IsLogging false: it records no events, including "
                "Lambda Invoke calls", location=trail.at("IsLogging"), functions=(),
                evidence={"is_logging": False, "lambda_data_events": records})
        elif records is False:
            yield TRAIL.finding(
                inventory, trail, f"Trail {trail.id} has no event selector for Lambda data events "
                f"({_LAMBDA_TYPE}): Invoke calls are not recorded", location=_selectors_location(trail),
                functions=(), evidence={"lambda_data_events": False})
        elif records is None:
            yield TRAIL.not_evaluated(trail, "its event selectors are known only at deploy time")
        elif isinstance(trail.is_logging, Unresolved):
            yield TRAIL.not_evaluated(trail, f"IsLogging is known only at deploy time ({trail.is_logging})")


def _selectors_location(trail: Trail) -> Location:
    if trail.advanced_event_selectors:
        return trail.at("AdvancedEventSelectors")
    return trail.at("EventSelectors")


# A trail recording every function's invocations in every region (OBS003, and OBS004 in rules/live.py).
TRAIL_SNIPPETS: Final = {
    "cloudformation": (
        "Trail:\n"
        "  Type: AWS::CloudTrail::Trail\n"
        "  Properties:\n"
        "    IsLogging: true\n"
        "    IsMultiRegionTrail: true\n"
        "    S3BucketName: !Ref TrailBucket\n"
        "    AdvancedEventSelectors:\n"
        "      - Name: Lambda invocations\n"
        "        FieldSelectors:\n"
        "          - Field: eventCategory\n"
        "            Equals: [Data]\n"
        "          - Field: resources.type\n"
        "            Equals: [AWS::Lambda::Function]\n"
    ),
    "sam": (
        "Trail:\n"
        "  Type: AWS::CloudTrail::Trail\n"
        "  Properties:\n"
        "    IsLogging: true\n"
        "    IsMultiRegionTrail: true\n"
        "    S3BucketName: !Ref TrailBucket\n"
        "    EventSelectors:\n"
        "      - ReadWriteType: All\n"
        "        IncludeManagementEvents: true\n"
        "        DataResources:\n"
        "          - Type: AWS::Lambda::Function\n"
        "            Values: [arn:aws:lambda]\n"
    ),
    "terraform": (
        'resource "aws_cloudtrail" "main" {\n'
        '  name                  = "main"\n'
        "  s3_bucket_name        = aws_s3_bucket.trail.id\n"
        "  is_multi_region_trail = true\n"
        "  advanced_event_selector {\n"
        '    name = "Lambda invocations"\n'
        "    field_selector {\n"
        '      field  = "eventCategory"\n'
        '      equals = ["Data"]\n'
        "    }\n"
        "    field_selector {\n"
        '      field  = "resources.type"\n'
        '      equals = ["AWS::Lambda::Function"]\n'
        "    }\n"
        "  }\n"
        "}\n"
    ),
}

TRAIL = Rule(
    code="OBS003",
    slug="trail-without-lambda-data-events",
    title="CloudTrail trail not recording Lambda invocations",
    severity=Severity.MEDIUM,
    confidence=Confidence.HIGH,
    category="observability",
    rationale=(
        "CloudTrail records Lambda management calls by default, but `Invoke` is a data event that a trail "
        "only logs when an event selector asks for `AWS::Lambda::Function` data. Without it there is no "
        "record of who invoked which function, from where and when, which is the first question when a "
        "function is abused with stolen credentials. A trail that is not logging records nothing at all."
    ),
    remediation=(
        "Keep `IsLogging: true` and add an event selector for Lambda data events: a classic "
        "`EventSelectors` entry with a `DataResources` item of type `AWS::Lambda::Function` (value "
        "`arn:aws:lambda` for all functions), or an advanced event selector with `eventCategory` equal to "
        "`Data` and `resources.type` equal to `AWS::Lambda::Function`. Data events are billed per event: "
        "scope them to sensitive functions if needed."
    ),
    check=_check_trail,
    snippets=TRAIL_SNIPPETS,
    references=(
        "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/logging-data-events-with-cloudtrail.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html",
    ),
    anchors={
        "checkov": (),
        "prowler": ("awslambda_function_invoke_api_operations_cloudtrail_logging",),
        "kics": (),
        "securityhub": (),
    },
)


RULES: tuple[Rule, ...] = (TRACING, RETENTION, TRAIL)
