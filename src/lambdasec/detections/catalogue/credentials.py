"""Credential access: a function's execution-role credentials used from outside Lambda, or for reconnaissance."""

from __future__ import annotations

from ...model.findings import Confidence, Severity
from ..model import Detection
from ..sqlparts import alert

TACTIC = "Credential Access"
_FUNCTION = "coalesce(split_part(in_scope_arn, ':', 7), session_name)"

USED_OUTSIDE = Detection(
    code="DET020", slug="lambda-credentials-used-outside-lambda",
    title="Lambda execution-role credentials used outside Lambda",
    severity=Severity.CRITICAL, confidence=Confidence.MEDIUM, tactic=TACTIC, technique="T1552.005",
    data_source="cloudtrail",
    rationale="A function's temporary credentials live in its environment; code injection, SSRF or a leaked "
              "debug dump lets an attacker copy them and call AWS from their own machine. The session is "
              "recognised by CloudTrail's inScopeOf (issuer AWS::Lambda::Function), by the Lambda runtime's "
              "user agent, or by its session name matching a function of its role; a call from an address "
              "outside AWS's published ranges, or with another user agent than the one the same key used "
              "from Lambda, is the stolen copy.",
    false_positives="Functions whose SDK does not add the exec-env user agent and that call through a "
                    "non-AWS proxy; an outdated ranges file (refresh it with --aws-ranges).",
    remediation="Revoke the role's sessions (an inline deny on aws:TokenIssueTime), find the function's "
                "vulnerability, and review what the copied credentials did.",
    sql=alert(function=_FUNCTION,
              detail="'called ' || event_source || ' ' || api_name || CASE WHEN source_ip IN "
                     "(SELECT source_ip FROM outside_aws) THEN ' from outside AWS' ELSE '' END || CASE WHEN "
                     "strpos(coalesce(user_agent, ''), 'exec-env/AWS_Lambda_') = 0 AND access_key IN "
                     "(SELECT access_key FROM lambda_agent_keys) THEN ' with another user agent (' || "
                     "coalesce(user_agent, '-') || ')' ELSE '' END") + """
FROM events
WHERE access_key IN (SELECT access_key FROM lambda_keys)
  AND (source_ip IN (SELECT source_ip FROM outside_aws)
       OR (strpos(coalesce(user_agent, ''), 'exec-env/AWS_Lambda_') = 0
           AND access_key IN (SELECT access_key FROM lambda_agent_keys)))""",
)

_DISCOVERY = """(
   (event_source = 'sts.amazonaws.com' AND api_name = 'GetCallerIdentity')
   OR (event_source = 'iam.amazonaws.com' AND (api_name LIKE 'Get%' OR api_name LIKE 'List%'))
   OR (event_source = 'organizations.amazonaws.com' AND (api_name LIKE 'Describe%' OR api_name LIKE 'List%'))
   OR (event_source = 'ec2.amazonaws.com' AND api_name LIKE 'Describe%')
   OR (event_source = 's3.amazonaws.com' AND api_name = 'ListBuckets')
   OR (event_source = 'lambda.amazonaws.com' AND (api_name LIKE 'List%' OR api_name = 'GetAccountSettings'))
   OR (event_source = 'secretsmanager.amazonaws.com' AND api_name = 'ListSecrets')
   OR (event_source = 'ssm.amazonaws.com' AND api_name = 'DescribeParameters'))"""

RECONNAISSANCE = Detection(
    code="DET021", slug="recon-with-lambda-credentials", title="Reconnaissance with a function's credentials",
    severity=Severity.HIGH, confidence=Confidence.MEDIUM, tactic="Discovery", technique="T1580",
    data_source="cloudtrail",
    rationale="Whoever gets a function's credentials first asks who they are and what they can reach "
              "(GetCallerIdentity, IAM and resource listings). Functions rarely do: three or more distinct "
              "discovery calls by one Lambda session is reported once, with every call (as a failed attempt when "
              "every call was denied).",
    false_positives="Inventory or compliance functions that list resources on purpose.",
    remediation="Treat the session as compromised: see DET020's response, and review the function.",
    sql=alert(time="min(event_time)", account="min(account)", region="min(region)", actor="min(actor_arn)",
              source_ip="min(source_ip)", function=f"min({_FUNCTION})", event_ids="string_agg(event_id, ',')",
              detail="'discovery calls: ' || string_agg(DISTINCT event_source || ':' || api_name, ', ' "
                     "ORDER BY event_source || ':' || api_name)",
              failed="(min(CASE WHEN error_code IS NOT NULL THEN 1 ELSE 0 END) = 1)", file="min(file)") + f"""
FROM events
WHERE access_key IN (SELECT access_key FROM lambda_keys) AND {_DISCOVERY}
GROUP BY access_key
HAVING count(DISTINCT event_source || ':' || api_name) >= 3""",
)

DETECTIONS = (USED_OUTSIDE, RECONNAISSANCE)
