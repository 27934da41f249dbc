"""Resilience: failed asynchronous events and concurrency limits."""

from __future__ import annotations

from collections.abc import Iterator

from ..model.findings import Confidence, Severity
from ..model.inventory import EventInvokeConfig, Inventory
from ..model.values import Unresolved, Value
from .base import Context, Outcome, Rule, unread_reason

# ---------------------------------------------------------------- RES001
_INVOKER_NAMES = {
    "s3": "S3", "sns": "SNS", "events": "EventBridge", "logs": "CloudWatch Logs", "iot": "AWS IoT",
    "ses": "SES", "config": "AWS Config", "codecommit": "CodeCommit", "cloudformation": "CloudFormation",
}

def _async_triggers(inventory: Inventory) -> dict[str, set[str]]:
    """Function key -> the kinds of asynchronous invokers known for it."""
    triggers: dict[str, set[str]] = {}
    for source in inventory.event_sources:
        fn = inventory.function_for(source.function) if source.invocation == "async" else None
        if fn is not None:
            triggers.setdefault(fn.key, set()).add(source.kind or "another service")
    return triggers


def _invoke_configs(inventory: Inventory) -> dict[str, list[EventInvokeConfig]]:
    """Function key -> its event-invoke configs."""
    configs: dict[str, list[EventInvokeConfig]] = {}
    for config in inventory.event_invoke_configs:
        fn = inventory.function_for(config.function)
        if fn is not None:
            configs.setdefault(fn.key, []).append(config)
    return configs


_READS = ("policy", "aliases", "event-invoke-configs")


def _settled(destination: Value | None) -> bool:
    """A failure destination that is there whatever the deployment's conditions."""
    return destination is not None and not (isinstance(destination, Unresolved) and destination.may_be_absent)


def _check_failure_destination(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    triggers = _async_triggers(inventory)
    configs_by_function = _invoke_configs(inventory)
    for fn in inventory.functions:
        configs = configs_by_function.get(fn.key, [])
        kinds = triggers.get(fn.key, set())
        if fn.not_read("event-invoke-configs") and not _settled(fn.dead_letter_target):
            # An on-failure destination may be in the configs that were not read; a dead-letter queue settles it.
            yield FAILURE_DESTINATION.not_evaluated(fn, unread_reason(fn, _READS))
            continue
        if not kinds and not configs:
            continue  # no known asynchronous invocation: failures go back to the caller
        destinations = [fn.dead_letter_target, *(c.on_failure for c in configs)]
        if any(_settled(d) for d in destinations):
            continue
        if any(d is not None for d in destinations):
            yield FAILURE_DESTINATION.not_evaluated(fn, "its failure destination depends on a condition")
            continue
        names = sorted({_INVOKER_NAMES.get(kind, kind) for kind in kinds})
        invoked_by = f"invoked asynchronously by {', '.join(names)}" if kinds else (
            "configured for asynchronous invocation (EventInvokeConfig)")
        yield FAILURE_DESTINATION.finding(
            inventory, fn, f"Function {fn.id} is {invoked_by} but has no dead-letter queue or on-failure "
            "destination: events that fail every retry are dropped",
            evidence={"async_invokers": sorted(kinds), "event_invoke_configs": [c.id for c in configs]})


FAILURE_DESTINATION = Rule(
    code="RES001",
    slug="async-without-failure-destination",
    title="Asynchronously invoked function drops failed events",
    severity=Severity.LOW,
    confidence=Confidence.HIGH,
    category="resilience",
    rationale=(
        "When S3, SNS, EventBridge or another service invokes a function asynchronously, Lambda queues "
        "the event, retries it twice and then discards it unless a dead-letter queue or an on-failure "
        "destination is configured. Failed events (including those an attacker makes fail on purpose, or "
        "security events a function was meant to process) then disappear without a trace and cannot be "
        "replayed."
    ),
    remediation=(
        "Configure an on-failure destination (`AWS::Lambda::EventInvokeConfig` "
        "`DestinationConfig.OnFailure`, SAM `EventInvokeConfig`) to an SQS queue, SNS topic, EventBridge "
        "bus or S3 bucket, or a `DeadLetterConfig` queue or topic, and alarm on messages arriving there."
    ),
    check=_check_failure_destination,
    needs=("policy", "aliases"),  # unread event-invoke configs: judged in the check (a dead-letter queue settles)
    snippets={
        "cloudformation": (
            "FunctionInvokeConfig:\n"
            "  Type: AWS::Lambda::EventInvokeConfig\n"
            "  Properties:\n"
            "    FunctionName: !Ref Function\n"
            "    Qualifier: $LATEST\n"
            "    DestinationConfig:\n"
            "      OnFailure:\n"
            "        Destination: !GetAtt FailedEventsQueue.Arn\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    EventInvokeConfig:\n"
            "      DestinationConfig:\n"
            "        OnFailure:\n"
            "          Type: SQS\n"
            "          Destination: !GetAtt FailedEventsQueue.Arn\n"
        ),
        "terraform": (
            'resource "aws_lambda_function_event_invoke_config" "this" {\n'
            "  function_name = aws_lambda_function.this.function_name\n"
            "  destination_config {\n"
            "    on_failure {\n"
            "      destination = aws_sqs_queue.failed_events.arn\n"
            "    }\n"
            "  }\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-retain-records.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/invocation-async.html",
    ),
    anchors={
        "checkov": ("CKV_AWS_116",),
        "prowler": (),
        "kics": (),
        "securityhub": (),
    },
)


# ---------------------------------------------------------------- RES002
def _check_reserved_concurrency(inventory: Inventory, context: Context) -> Iterator[Outcome]:
    for fn in inventory.functions:
        limit = fn.reserved_concurrency
        if limit is None:
            yield RESERVED_CONCURRENCY.finding(
                inventory, fn, f"Function {fn.id} has no ReservedConcurrentExecutions: it can scale up to "
                "the account's whole unreserved concurrency")
        elif isinstance(limit, Unresolved) and limit.may_be_absent:
            yield RESERVED_CONCURRENCY.not_evaluated(
                fn, f"its reserved concurrency depends on a condition ({limit})")


RESERVED_CONCURRENCY = Rule(
    code="RES002",
    slug="no-reserved-concurrency",
    title="Function without reserved concurrency",
    severity=Severity.LOW,
    confidence=Confidence.HIGH,
    category="resilience",
    rationale=(
        "Without reserved concurrency a function shares the account's regional concurrency pool: a flood "
        "of requests (abuse, a retry storm, a denial-of-wallet attack) can scale it until it throttles "
        "every other function in the account, and nothing caps the load it forwards to databases and APIs "
        "downstream. Reserving concurrency both guarantees and limits its capacity."
    ),
    remediation=(
        "Set `ReservedConcurrentExecutions` to the highest concurrency the function and its downstream "
        "dependencies should sustain. A value of 0 disables invocations altogether and is only meant to "
        "stop a function in an emergency."
    ),
    check=_check_reserved_concurrency,
    needs=("details",),
    snippets={
        "cloudformation": (
            "Function:\n"
            "  Type: AWS::Lambda::Function\n"
            "  Properties:\n"
            "    ReservedConcurrentExecutions: 50\n"
        ),
        "sam": (
            "Function:\n"
            "  Type: AWS::Serverless::Function\n"
            "  Properties:\n"
            "    ReservedConcurrentExecutions: 50\n"
        ),
        "terraform": (
            'resource "aws_lambda_function" "this" {\n'
            "  reserved_concurrent_executions = 50\n"
            "}\n"
        ),
    },
    references=(
        "https://docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html",
        "https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html",
    ),
    anchors={
        "checkov": ("CKV_AWS_115",),
        "prowler": (),
        "kics": (),
        "securityhub": (),
    },
)


RULES: tuple[Rule, ...] = (FAILURE_DESTINATION, RESERVED_CONCURRENCY)
