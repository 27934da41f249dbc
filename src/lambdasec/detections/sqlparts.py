"""Portable SQL fragments the detections share (DuckDB's dialect; sqlglot translates them for Spark)."""

from __future__ import annotations


def param(name: str) -> str:
    """A request parameter as text (JSON text for objects and arrays)."""
    return f"(request_parameters ->> '$.{name}')"


def function_name(expression: str) -> str:
    """A function's name from a name, a partial ARN or a (qualified) ARN."""
    return (f"(CASE WHEN {expression} LIKE 'arn:%' THEN split_part({expression}, ':', 7) "
            f"ELSE split_part({expression}, ':', 1) END)")


def alert(*, time: str = "event_time", actor: str = "actor_arn", source_ip: str = "source_ip",
          function: str = f"{function_name(param('functionName'))}", event_ids: str = "event_id",
          detail: str, severity: str = "CAST(NULL AS VARCHAR)", failed: str = "(error_code IS NOT NULL)",
          account: str = "account", region: str = "region", file: str = "file") -> str:
    """The SELECT list every detection returns (model.ALERT_COLUMNS, in order)."""
    return (f"SELECT {time} AS alert_time, {account} AS account, {region} AS region, {actor} AS actor, "
            f"{source_ip} AS source_ip, {function} AS function_name, {event_ids} AS event_ids, "
            f"{detail} AS detail, {severity} AS severity, {failed} AS failed, {file} AS file")


def bucket(number: str) -> str:
    """The /16 block of an IPv4 number, as context.by_bucket stores ranges."""
    return f"CAST(floor({number} / 65536) AS BIGINT)"


def by_hand(table: str = "") -> str:
    """A call of a Lambda API made by hand (or by a tool), not by CloudFormation deploying a stack, and not by a
    trusted deployer. ``table``: the events' alias, when the query joins."""
    prefix = f"{table}." if table else ""
    return (f"{prefix}event_source = 'lambda.amazonaws.com' "
            f"AND {prefix}event_id NOT IN (SELECT event_id FROM deployments)")


BY_HAND = by_hand()

# The helper tables built once before the detections run (same SQL on every engine), in order.
HELPERS: tuple[tuple[str, str], ...] = (
    ("deployments", """
SELECT DISTINCT e.event_id FROM events AS e
WHERE e.source_ip = 'cloudformation.amazonaws.com' OR e.user_agent = 'cloudformation.amazonaws.com'
   OR e.invoked_by = 'cloudformation.amazonaws.com'
UNION
SELECT DISTINCT e.event_id FROM events AS e JOIN deployers AS d
  ON e.actor_arn LIKE d.pattern ESCAPE '\\' OR e.session_issuer LIKE d.pattern ESCAPE '\\'"""),
    # access keys a Lambda function received (its execution role's session)
    ("lambda_keys", """
SELECT DISTINCT access_key FROM events
WHERE access_key IS NOT NULL
  AND (in_scope_of = 'AWS::Lambda::Function' OR strpos(user_agent, 'exec-env/AWS_Lambda_') > 0)
UNION
SELECT DISTINCT e.access_key FROM events AS e JOIN functions AS f
  ON e.session_name = f.name AND split_part(e.session_issuer, '/', -1) = f.role_name
WHERE e.access_key IS NOT NULL AND e.actor_type = 'AssumedRole'"""),
    # access keys seen with the Lambda runtime's user agent: a call with another agent is suspicious
    ("lambda_agent_keys", """
SELECT DISTINCT access_key FROM events
WHERE access_key IS NOT NULL AND strpos(user_agent, 'exec-env/AWS_Lambda_') > 0"""),
    # privileged roles: from the inventory (admin or an escalation method), or made so by the logs themselves
    # (an AWS managed admin-like policy attached, an inline policy allowing "*"), from then on
    ("privileged_grants", """
SELECT account, role_name, reason, CAST(NULL AS TIMESTAMP) AS granted_at FROM roles WHERE privileged
UNION
SELECT account, request_parameters ->> '$.roleName' AS role_name,
       'policy ' || (request_parameters ->> '$.policyArn') || ' attached' AS reason, event_time AS granted_at
FROM events
WHERE event_source = 'iam.amazonaws.com' AND api_name = 'AttachRolePolicy' AND error_code IS NULL
  AND split_part(request_parameters ->> '$.policyArn', '/', -1) IN ('AdministratorAccess', 'PowerUserAccess',
                                                                    'IAMFullAccess')
UNION
SELECT account, request_parameters ->> '$.roleName' AS role_name,
       'inline policy ' || (request_parameters ->> '$.policyName') || ' allows every action' AS reason,
       event_time AS granted_at
FROM events
WHERE event_source = 'iam.amazonaws.com' AND api_name = 'PutRolePolicy' AND error_code IS NULL
  AND regexp_matches(request_parameters ->> '$.policyDocument', '"Action"\\s*:\\s*(\\[\\s*)?"\\*"')"""),
    ("privileged_roles", """
SELECT account, role_name, min(reason) AS reason,
       CASE WHEN count(*) > count(granted_at) THEN CAST(NULL AS TIMESTAMP) ELSE min(granted_at) END AS granted_at
FROM privileged_grants GROUP BY account, role_name"""),
    ("outside_aws", f"""
SELECT d.source_ip FROM (
  SELECT DISTINCT source_ip, source_ip_num FROM events
  WHERE source_ip_num IS NOT NULL AND access_key IN (SELECT access_key FROM lambda_keys)) AS d
LEFT JOIN aws_ranges AS r
  ON r.bucket = {bucket('d.source_ip_num')} AND d.source_ip_num BETWEEN r.start_num AND r.end_num
WHERE r.start_num IS NULL"""),
)
