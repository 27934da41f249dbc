"""AWS Security Finding Format (ASFF): a JSON array of AwsSecurityFinding objects for Security Hub's
BatchImportFindings (``aws securityhub batch-import-findings --findings file://asff.json``, 100 per call).

Options: ``account`` and ``region`` name the Security Hub that imports the findings (the product ARN
``arn:aws:securityhub:<region>:<account>:product/<account>/default``; defaults ``000000000000`` and ``us-east-1``);
``now`` (a datetime) is written as CreatedAt and UpdatedAt. The shape is checked against botocore's securityhub
model in tests/test_formats.py. Documented, with the mapping of each field, in docs/formats.md.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from typing import Any

from ..model.findings import Confidence, Finding, Report, Severity
from .json_report import layout

SCHEMA_VERSION = "2018-10-08"
DEFAULT_ACCOUNT = "000000000000"
DEFAULT_REGION = "us-east-1"
# Limits Security Hub documents for BatchImportFindings (the service model gives no lengths for them).
MAX_TITLE = 256
MAX_DESCRIPTION = 1024
MAX_RECOMMENDATION = 512
MAX_ID = 512
MAX_FIELD_VALUE = 2048
MAX_RESOURCES = 32

_LABEL = {
    Severity.CRITICAL: "CRITICAL", Severity.HIGH: "HIGH", Severity.MEDIUM: "MEDIUM", Severity.LOW: "LOW",
    Severity.INFO: "INFORMATIONAL",
}
_CONFIDENCE = {Confidence.HIGH: 90, Confidence.MEDIUM: 60, Confidence.LOW: 30}
BEST_PRACTICES = "Software and Configuration Checks/AWS Security Best Practices"
_EXTRA_TYPES = {"secrets": "Sensitive Data Identifications/Passwords"}
# ATT&CK tactics that ASFF names as TTPs categories; the Impact tactic of resource hijacking maps to an effect.
_TTP_TACTICS = frozenset({
    "Initial Access", "Execution", "Persistence", "Privilege Escalation", "Defense Evasion", "Credential Access",
    "Discovery", "Lateral Movement", "Collection", "Command and Control",
})
_EFFECTS = {"Impact": "Effects/Resource Consumption", "Exfiltration": "Effects/Data Exfiltration"}
# CloudFormation (and SAM) resource types -> ASFF resource types (the members of ASFF's ResourceDetails).
RESOURCE_TYPES = {
    "AWS::Lambda::Function": "AwsLambdaFunction",
    "AWS::Serverless::Function": "AwsLambdaFunction",
    "AWS::Lambda::LayerVersion": "AwsLambdaLayerVersion",
    "AWS::Serverless::LayerVersion": "AwsLambdaLayerVersion",
    "AWS::IAM::Role": "AwsIamRole",
    "AWS::IAM::User": "AwsIamUser",
    "AWS::IAM::Group": "AwsIamGroup",
    "AWS::IAM::Policy": "AwsIamPolicy",
    "AWS::IAM::ManagedPolicy": "AwsIamPolicy",
    "AWS::IAM::AccessKey": "AwsIamAccessKey",
    "AWS::S3::Bucket": "AwsS3Bucket",
    "AWS::S3::Object": "AwsS3Object",
    "AWS::CloudTrail::Trail": "AwsCloudTrailTrail",
    "AWS::GuardDuty::Detector": "AwsGuardDutyDetector",
    "AWS::ECR::Repository": "AwsEcrRepository",
    "AWS::DynamoDB::Table": "AwsDynamoDbTable",
    "AWS::Serverless::SimpleTable": "AwsDynamoDbTable",
    "AWS::SQS::Queue": "AwsSqsQueue",
    "AWS::SNS::Topic": "AwsSnsTopic",
    "AWS::KMS::Key": "AwsKmsKey",
    "AWS::SecretsManager::Secret": "AwsSecretsManagerSecret",
    "AWS::EC2::SecurityGroup": "AwsEc2SecurityGroup",
    "AWS::EC2::Subnet": "AwsEc2Subnet",
    "AWS::EC2::VPC": "AwsEc2Vpc",
    "AWS::EC2::RouteTable": "AwsEc2RouteTable",
    "AWS::ApiGateway::RestApi": "AwsApiGatewayRestApi",
    "AWS::Serverless::Api": "AwsApiGatewayRestApi",
    "AWS::ApiGateway::Stage": "AwsApiGatewayStage",
    "AWS::ApiGatewayV2::Api": "AwsApiGatewayV2Api",
    "AWS::Serverless::HttpApi": "AwsApiGatewayV2Api",
    "AWS::ApiGatewayV2::Stage": "AwsApiGatewayV2Stage",
    "AWS::Kinesis::Stream": "AwsKinesisStream",
    "AWS::MSK::Cluster": "AwsMskCluster",
    "AWS::AmazonMQ::Broker": "AwsAmazonMqBroker",
    "AWS::StepFunctions::StateMachine": "AwsStepFunctionStateMachine",
    "AWS::Serverless::StateMachine": "AwsStepFunctionStateMachine",
    "AWS::Events::EventBus": "AwsEventsEventbus",
    "AWS::CloudFormation::Stack": "AwsCloudFormationStack",
}
_ACCOUNT = re.compile(r"\d{12}")
_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


def timestamp(now: dt.datetime) -> str:
    """ISO 8601 in UTC with a Z, as Security Hub expects (a naive datetime is taken as UTC)."""
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    return now.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def shorten(text: str, limit: int) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _partition(arn: str | None, region: str) -> str:
    if arn and arn.startswith("arn:") and arn.split(":")[1] in _PARTITIONS:
        return arn.split(":")[1]
    if region.startswith("cn-"):
        return "aws-cn"
    return "aws-us-gov" if region.startswith("us-gov-") else "aws"


def _arn_account(arn: str | None) -> str | None:
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and _ACCOUNT.fullmatch(parts[4]) else None


def resource_arn(finding: Finding) -> str | None:
    """The resource's ARN: a live scan's location has it; a detection names a function, its account and region."""
    if finding.location.arn:
        return finding.location.arn
    evidence = finding.evidence
    account, region = str(evidence.get("account") or ""), str(evidence.get("region") or "")
    if finding.resource_type == "AWS::Lambda::Function" and evidence.get("function") == finding.resource_id \
            and _ACCOUNT.fullmatch(account) and region:
        return f"arn:{_partition(None, region)}:lambda:{region}:{account}:function:{finding.resource_id}"
    return None


def finding_id(finding: Finding) -> str:
    """Stable across scans: the finding's fingerprint (line shifts and reformatting keep it)."""
    fingerprint = finding.fingerprint or hashlib.sha256("\x00".join(
        [finding.rule_id, finding.resource_type, finding.resource_id, finding.location.display(), finding.variant]
    ).encode()).hexdigest()[:32]
    return shorten(f"lambdasec/{finding.rule_id}/{fingerprint}", MAX_ID)


def finding_types(finding: Finding) -> list[str]:
    if finding.category != "threat":
        return [BEST_PRACTICES, *([_EXTRA_TYPES[finding.category]] if finding.category in _EXTRA_TYPES else [])]
    tactic = str(finding.evidence.get("tactic") or "")
    technique = str(finding.evidence.get("technique") or "")
    if tactic in _TTP_TACTICS:
        return [f"TTPs/{tactic}/{technique}" if technique else f"TTPs/{tactic}"]
    if tactic in _EFFECTS:
        return [f"{_EFFECTS[tactic]}/{technique}" if technique else _EFFECTS[tactic]]
    return ["TTPs"]


def _resources(finding: Finding, region: str) -> list[dict[str, Any]]:
    where = finding.location.region or str(finding.evidence.get("region") or "") or region
    main_id = resource_arn(finding) or finding.resource_id
    asff_type = RESOURCE_TYPES.get(finding.resource_type, "Other")
    main: dict[str, Any] = {"Type": asff_type, "Id": main_id, "Partition": _partition(main_id, where),
                            "Region": where}
    if asff_type == "Other":
        main["Details"] = {"Other": {"lambdasec/ResourceType": finding.resource_type,
                                     "lambdasec/ResourceId": finding.resource_id}}
    resources = [main]
    for function in finding.functions:
        if function != finding.resource_id and len(resources) < MAX_RESOURCES:
            resources.append({"Type": "AwsLambdaFunction", "Id": function, "Partition": _partition(None, where),
                              "Region": where, "ResourceRole": "Target"})
    return resources


def _product_fields(finding: Finding, rule: Any) -> dict[str, str]:
    fields = {
        "lambdasec/RuleId": finding.rule_id,
        "lambdasec/Slug": finding.slug,
        "lambdasec/Category": finding.category,
        "lambdasec/Confidence": finding.confidence.label,
        "lambdasec/ResourceType": finding.resource_type,
        "lambdasec/Location": finding.location.display(),
        "lambdasec/Fingerprint": finding.fingerprint,
        "lambdasec/Functions": ",".join(finding.functions),
    }
    if finding.priority is not None:
        fields["lambdasec/Priority"] = f"{finding.priority.level.label} ({finding.priority.score})"
    controls = getattr(rule, "anchors", {}).get("securityhub", ()) if rule is not None else ()
    if controls:
        fields["lambdasec/SecurityHubControls"] = ",".join(controls)
    return {key: shorten(value, MAX_FIELD_VALUE) for key, value in fields.items() if value.strip()}


def to_finding(finding: Finding, rule: Any, *, account: str, region: str, now: str) -> dict[str, Any]:
    owner = _arn_account(finding.location.arn) or str(finding.evidence.get("account") or "")
    remediation = finding.remediation or getattr(rule, "remediation", "") or "See the rule's documentation."
    recommendation: dict[str, str] = {"Text": shorten(remediation, MAX_RECOMMENDATION)}
    urls = [ref for ref in getattr(rule, "references", ()) if str(ref).startswith("https://")]
    if urls:
        recommendation["Url"] = urls[0]
    out: dict[str, Any] = {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(finding),
        "ProductArn": f"arn:aws:securityhub:{region}:{account}:product/{account}/default",
        "ProductName": "lambdasec",
        "CompanyName": "lambdasec",
        "GeneratorId": finding.rule_id,
        "AwsAccountId": owner if _ACCOUNT.fullmatch(owner) else account,
        "Types": finding_types(finding),
        "CreatedAt": now,
        "UpdatedAt": now,
        "Severity": {"Label": _LABEL[finding.severity], "Original": finding.severity.label},
        "Confidence": _CONFIDENCE[finding.confidence],
        "Title": shorten(f"{finding.rule_id} {finding.title}", MAX_TITLE),
        "Description": shorten(finding.message or finding.title, MAX_DESCRIPTION),
        "Remediation": {"Recommendation": recommendation},
        "ProductFields": _product_fields(finding, rule),
        "Resources": _resources(finding, region),
    }
    observed = str(finding.evidence.get("time") or "") if finding.category == "threat" else ""
    if observed:
        out["FirstObservedAt"] = out["LastObservedAt"] = observed
    if finding.category != "threat":
        out["Compliance"] = {"Status": "FAILED"}
    if finding.suppression is not None:
        out["Workflow"] = {"Status": "SUPPRESSED"}
        out["Note"] = {"Text": shorten(f"Suppressed ({finding.suppression.source}): {finding.suppression.reason}",
                                       MAX_RECOMMENDATION), "UpdatedBy": "lambdasec", "UpdatedAt": now}
    else:
        out["Workflow"] = {"Status": "NEW"}
    out["RecordState"] = "ACTIVE"
    return out


def to_list(report: Report, rules: Sequence[Any] = (), **options: Any) -> list[dict[str, Any]]:
    by_code = {rule.code: rule for rule in rules}
    account = str(options.get("account") or DEFAULT_ACCOUNT)
    region = str(options.get("region") or DEFAULT_REGION)
    now = timestamp(options.get("now") or dt.datetime.now(dt.timezone.utc))
    return [to_finding(f, by_code.get(f.rule_id), account=account, region=region, now=now)
            for f in [*report.findings, *report.suppressed]]


def render(report: Report, rules: Sequence[Any] = (), **options: Any) -> str:
    return layout(to_list(report, rules, **options), expand=2) + "\n"
