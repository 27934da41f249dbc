"""The normalized log tables (docs/detections.md documents them), defined once for every engine.

Each kind goes through three steps:

1. raw: ``raw_<kind>(file, record)``: one row per record, the record's JSON text (``NULL`` when the line or
   element is no JSON object: counted as malformed). Flow logs: ``raw_flows(file, format, record)`` with the line.
2. extraction (engine specific, generated from :data:`FIELDS`): one JSON parse per record into the listed fields,
   all text (JSON text for nested values), through DuckDB's ``json_transform`` or Spark's ``from_json``.
3. derivation (portable SQL, :data:`DERIVE`): types, times, the columns the detections share. A record whose
   required fields are missing or mistyped is counted as malformed (:data:`MALFORMED`) and left out.
"""

from __future__ import annotations

from typing import Final

# kind -> flavour -> (column, JSON path from the record's root, "text" | "json")
FIELDS: Final[dict[str, dict[str, tuple[tuple[str, str, str], ...]]]] = {
    "cloudtrail": {"": (
        ("event_id", "eventID", "text"), ("event_time", "eventTime", "text"), ("event_source", "eventSource", "text"),
        ("event_name", "eventName", "text"), ("recipient", "recipientAccountId", "text"),
        ("region", "awsRegion", "text"), ("actor_type", "userIdentity.type", "text"),
        ("actor_arn", "userIdentity.arn", "text"), ("actor_account", "userIdentity.accountId", "text"),
        ("access_key", "userIdentity.accessKeyId", "text"),
        ("session_issuer", "userIdentity.sessionContext.sessionIssuer.arn", "text"),
        ("in_scope_of", "userIdentity.inScopeOf.issuerType", "text"),
        ("in_scope_arn", "userIdentity.inScopeOf.sourceArn", "text"),
        ("invoked_by", "userIdentity.invokedBy", "text"),
        ("source_ip", "sourceIPAddress", "text"), ("user_agent", "userAgent", "text"),
        ("error_code", "errorCode", "text"), ("error_message", "errorMessage", "text"),
        ("request_parameters", "requestParameters", "json"), ("response_elements", "responseElements", "json"),
    ), "athena": (  # Athena's CloudTrail table unloaded as JSON: lower-case names, parameters as JSON strings
        ("event_id", "eventid", "text"), ("event_time", "eventtime", "text"), ("event_source", "eventsource", "text"),
        ("event_name", "eventname", "text"), ("recipient", "recipientaccountid", "text"),
        ("region", "awsregion", "text"), ("actor_type", "useridentity.type", "text"),
        ("actor_arn", "useridentity.arn", "text"), ("actor_account", "useridentity.accountid", "text"),
        ("access_key", "useridentity.accesskeyid", "text"),
        ("session_issuer", "useridentity.sessioncontext.sessionissuer.arn", "text"),
        ("in_scope_of", "useridentity.inscopeof.issuertype", "text"),
        ("in_scope_arn", "useridentity.inscopeof.sourcearn", "text"),
        ("invoked_by", "useridentity.invokedby", "text"),
        ("source_ip", "sourceipaddress", "text"), ("user_agent", "useragent", "text"),
        ("error_code", "errorcode", "text"), ("error_message", "errormessage", "text"),
        ("request_parameters", "requestparameters", "text"), ("response_elements", "responseelements", "text"),
    )},
    "dns": {"": (
        ("account", "account_id", "text"), ("region", "region", "text"), ("vpc_id", "vpc_id", "text"),
        ("query_timestamp", "query_timestamp", "text"), ("query_name", "query_name", "text"),
        ("query_type", "query_type", "text"), ("rcode", "rcode", "text"), ("answers", "answers", "json"),
        ("src_addr", "srcaddr", "text"), ("src_port", "srcport", "text"), ("instance_id", "srcids.instance", "text"),
    )},
    "findings": {
        "": (  # GetFindings / console export: PascalCase
            ("finding_id", "Id", "text"), ("finding_type", "Type", "text"), ("severity", "Severity", "text"),
            ("title", "Title", "text"), ("account", "AccountId", "text"), ("region", "Region", "text"),
            ("resource_type", "Resource.ResourceType", "text"),
            ("function_arn", "Resource.LambdaDetails.FunctionArn", "text"),
            ("function_name", "Resource.LambdaDetails.FunctionName", "text"),
            ("created_at", "CreatedAt", "text"), ("updated_at", "UpdatedAt", "text"),
        ),
        "camel": (  # S3 export and EventBridge: camelCase
            ("finding_id", "id", "text"), ("finding_type", "type", "text"), ("severity", "severity", "text"),
            ("title", "title", "text"), ("account", "accountId", "text"), ("region", "region", "text"),
            ("resource_type", "resource.resourceType", "text"),
            ("function_arn", "resource.lambdaDetails.functionArn", "text"),
            ("function_name", "resource.lambdaDetails.functionName", "text"),
            ("created_at", "createdAt", "text"), ("updated_at", "updatedAt", "text"),
        ),
    },
}

# VPC flow log field name -> column (fields not listed are kept only in the raw line).
FLOW_COLUMNS: Final = {
    "account-id": "account", "interface-id": "interface_id", "srcaddr": "src_addr", "dstaddr": "dst_addr",
    "srcport": "src_port", "dstport": "dst_port", "protocol": "protocol", "packets": "packets", "bytes": "bytes",
    "start": "start", "end": "end", "action": "action", "log-status": "log_status", "vpc-id": "vpc_id",
    "subnet-id": "subnet_id", "instance-id": "instance_id",
}
FLOW_TEXT = ("account", "interface_id", "src_addr", "dst_addr", "action", "log_status", "vpc_id", "subnet_id",
             "instance_id")

_IPV4 = r"'^[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}$'"


def utc(column: str) -> str:
    """Portable SQL: an ISO 8601 time with any offset ('Z', '+02:00') as a UTC timestamp without zone (NULL when
    it is no time)."""
    return f"CAST(TRY_CAST({column} AS TIMESTAMPTZ) AS TIMESTAMP)"


def ipv4_number(column: str) -> str:
    """Portable SQL: an IPv4 address as a number (NULL for anything else), to compare with range bounds."""
    parts = [f"TRY_CAST(split_part({column}, '.', {i}) AS BIGINT)" for i in range(1, 5)]
    return (f"CASE WHEN regexp_matches({column}, {_IPV4}) THEN "
            f"{parts[0]} * 16777216 + {parts[1]} * 65536 + {parts[2]} * 256 + {parts[3]} END")


# Derivation: kind -> portable SELECT over x_<kind> (the extracted fields, plus file and raw).
DERIVE: Final[dict[str, str]] = {
    "cloudtrail": f"""
SELECT event_id, {utc('event_time')} AS event_time, event_source, event_name,
       regexp_replace(event_name, '[0-9]{{8}}(v[0-9]+)?$', '') AS api_name,
       COALESCE(recipient, actor_account) AS account, region, actor_type, actor_arn, actor_account, access_key,
       session_issuer,
       CASE WHEN actor_type = 'AssumedRole' THEN regexp_extract(actor_arn, '/([^/]+)$', 1) END AS session_name,
       in_scope_of, in_scope_arn, invoked_by, source_ip, {ipv4_number('source_ip')} AS source_ip_num, user_agent,
       error_code, error_message, request_parameters, response_elements, file, raw
FROM x_cloudtrail
WHERE event_name IS NOT NULL AND {utc('event_time')} IS NOT NULL""",
    "dns": f"""
SELECT {utc('query_timestamp')} AS query_time, account, region, vpc_id,
       regexp_replace(lower(query_name), '[.]$', '') AS query_name, query_type, rcode, src_addr,
       TRY_CAST(src_port AS INTEGER) AS src_port, {ipv4_number('src_addr')} AS src_addr_num, instance_id, answers,
       file, raw
FROM x_dns
WHERE query_name IS NOT NULL AND {utc('query_timestamp')} IS NOT NULL""",
    "findings": f"""
SELECT finding_id, finding_type, TRY_CAST(severity AS DOUBLE) AS severity, title, account, region, resource_type,
       function_arn, function_name, {utc('created_at')} AS created_at,
       {utc('updated_at')} AS updated_at, file, raw
FROM x_findings
WHERE finding_id IS NOT NULL AND finding_type IS NOT NULL""",
    "flows": f"""
SELECT CAST(to_timestamp(TRY_CAST(start AS BIGINT)) AS TIMESTAMP) AS start_time,
       CAST(to_timestamp(TRY_CAST("end" AS BIGINT)) AS TIMESTAMP) AS end_time,
       account, interface_id, src_addr, dst_addr, {ipv4_number('src_addr')} AS src_addr_num,
       {ipv4_number('dst_addr')} AS dst_addr_num, TRY_CAST(src_port AS INTEGER) AS src_port,
       TRY_CAST(dst_port AS INTEGER) AS dst_port, TRY_CAST(protocol AS INTEGER) AS protocol,
       TRY_CAST(packets AS BIGINT) AS packets, TRY_CAST(bytes AS BIGINT) AS bytes, action, log_status, vpc_id,
       subnet_id, instance_id, file, raw
FROM x_flows
WHERE log_status = 'OK' AND TRY_CAST(start AS BIGINT) IS NOT NULL AND src_addr IS NOT NULL AND src_addr <> '-'""",
}

# Records read but left out of the table, per file: kind -> portable condition over x_<kind> (raw rows whose
# record is NULL are malformed too). Flow records with log-status NODATA or SKIPDATA carry no flow: not malformed.
MALFORMED: Final[dict[str, str]] = {
    "cloudtrail": f"event_name IS NULL OR {utc('event_time')} IS NULL",
    "dns": f"query_name IS NULL OR {utc('query_timestamp')} IS NULL",
    "findings": "finding_id IS NULL OR finding_type IS NULL",
    "flows": "log_status IS NULL OR (log_status = 'OK' AND (TRY_CAST(start AS BIGINT) IS NULL OR src_addr IS NULL))",
}

KINDS: Final = ("cloudtrail", "dns", "flows", "findings")
# kind -> its normalized table
TABLES: Final = {"cloudtrail": "events", "dns": "dns", "flows": "flows", "findings": "findings"}
