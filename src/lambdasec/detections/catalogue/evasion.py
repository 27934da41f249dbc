"""Defense evasion: the logs and detectors that would see an attack on Lambda switched off."""

from __future__ import annotations

from ...model.findings import Confidence, Severity
from ..model import Detection
from ..sqlparts import alert, param

TACTIC = "Defense Evasion"
_NO_FUNCTION = "CAST(NULL AS VARCHAR)"

TRAIL_STOPPED = Detection(
    code="DET040", slug="cloudtrail-stopped-or-deleted", title="CloudTrail trail stopped or deleted",
    severity=Severity.HIGH, confidence=Confidence.HIGH, tactic=TACTIC, technique="T1562.008",
    data_source="cloudtrail",
    rationale="Stopping or deleting a trail blinds every detection here, for Lambda and everything else.",
    false_positives="Trail migrations (a new trail is created at the same time).",
    remediation="Restart logging, find who stopped it and what they did meanwhile (other trails, CloudTrail "
                "Event history).",
    sql=alert(function=_NO_FUNCTION, detail=f"api_name || ' on ' || coalesce({param('name')}, '?')") + """
FROM events
WHERE event_source = 'cloudtrail.amazonaws.com' AND api_name IN ('StopLogging', 'DeleteTrail')""",
    references=("https://stratus-red-team.cloud/attack-techniques/AWS/aws.defense-evasion.cloudtrail-stop/",),
)

_SELECTORS = f"coalesce({param('eventSelectors')}, '')"
_ADVANCED = f"coalesce({param('advancedEventSelectors')}, '')"
_DROPS_MANAGEMENT = f"""(
  (api_name = 'PutEventSelectors' AND ({_SELECTORS} LIKE '%"includeManagementEvents":false%'
                                      OR {_SELECTORS} LIKE '%"readWriteType":"ReadOnly"%'))
  OR (api_name = 'PutAdvancedEventSelectors' AND {_ADVANCED} NOT LIKE '%"Management"%'))"""
_NO_LAMBDA_DATA = f"""(
  (api_name = 'PutEventSelectors' AND {_SELECTORS} NOT LIKE '%AWS::Lambda::Function%')
  OR (api_name = 'PutAdvancedEventSelectors' AND {_ADVANCED} NOT LIKE '%AWS::Lambda::Function%'))"""

SELECTORS = Detection(
    code="DET041", slug="cloudtrail-selectors-drop-lambda",
    title="CloudTrail selectors changed to drop management or Lambda events",
    severity=Severity.HIGH, confidence=Confidence.MEDIUM, tactic=TACTIC, technique="T1562.008",
    data_source="cloudtrail",
    rationale="Event selectors that stop recording write management events hide every Lambda API change "
              "(code, permissions, layers); selectors without Lambda data events hide who invokes functions.",
    false_positives="Cost reductions that drop data events on purpose (reported at medium).",
    remediation="Restore the selectors, and check what happened while they were changed.",
    sql=alert(function=_NO_FUNCTION,
              detail=f"api_name || ' on ' || coalesce({param('trailName')}, '?') || CASE WHEN {_DROPS_MANAGEMENT} "
                     "THEN ': write management events no longer recorded' ELSE ': no Lambda data events' END",
              severity=f"CASE WHEN {_DROPS_MANAGEMENT} THEN 'high' ELSE 'medium' END") + f"""
FROM events
WHERE event_source = 'cloudtrail.amazonaws.com' AND api_name IN ('PutEventSelectors', 'PutAdvancedEventSelectors')
  AND ({_DROPS_MANAGEMENT} OR {_NO_LAMBDA_DATA})""",
    references=(
        "https://stratus-red-team.cloud/attack-techniques/AWS/aws.defense-evasion.cloudtrail-event-selectors/",),
)

_FEATURES = f"coalesce({param('features')}, '')"
GUARDDUTY_OFF = Detection(
    code="DET042", slug="guardduty-disabled", title="GuardDuty disabled, weakened or its findings suppressed",
    severity=Severity.HIGH, confidence=Confidence.HIGH, tactic=TACTIC, technique="T1562.001",
    data_source="cloudtrail",
    rationale="Deleting or disabling the detector, turning Lambda network protection off, or archiving "
              "findings automatically with a filter removes GuardDuty's view of Lambda.",
    false_positives="Planned changes of detector settings; suppression rules for known noise.",
    remediation="Re-enable the detector and its LAMBDA_NETWORK_LOGS feature, review filters with action "
                "ARCHIVE.",
    sql=alert(function=_NO_FUNCTION, detail="api_name || ' on detector ' || coalesce("
                                            f"{param('detectorId')}, '?')") + f"""
FROM events
WHERE event_source = 'guardduty.amazonaws.com' AND (
  api_name = 'DeleteDetector'
  OR (api_name = 'UpdateDetector' AND ({param('enable')} = 'false'
      OR regexp_matches({_FEATURES}, '"name":"LAMBDA_NETWORK_LOGS"[^}}]*"status":"DISABLED"')))
  OR (api_name IN ('CreateFilter', 'UpdateFilter') AND {param('action')} = 'ARCHIVE'))""",
)

NETWORK_LOGGING = Detection(
    code="DET043", slug="network-logging-removed", title="VPC flow logs or Resolver query logging removed",
    severity=Severity.MEDIUM, confidence=Confidence.HIGH, tactic=TACTIC, technique="T1562.008",
    data_source="cloudtrail",
    rationale="Flow logs and Resolver query logs are what the network detections read (mining pools, stratum "
              "ports, threat lists); removing them hides a function's traffic.",
    false_positives="Log configurations replaced by new ones.",
    remediation="Recreate the flow log or query logging configuration and find who removed it.",
    sql=alert(function=_NO_FUNCTION, detail="event_source || ' ' || api_name") + """
FROM events
WHERE (event_source = 'ec2.amazonaws.com' AND api_name = 'DeleteFlowLogs')
   OR (event_source = 'route53resolver.amazonaws.com'
       AND api_name IN ('DeleteResolverQueryLogConfig', 'DisassociateResolverQueryLogConfig'))""",
    references=("https://stratus-red-team.cloud/attack-techniques/AWS/aws.defense-evasion.vpc-remove-flow-logs/",),
)

DETECTIONS = (TRAIL_STOPPED, SELECTORS, GUARDDUTY_OFF, NETWORK_LOGGING)
