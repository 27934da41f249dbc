"""Network signs of compromise from VPC functions: mining pools, stratum ports, threat lists; GuardDuty's own
Lambda findings passed through."""

from __future__ import annotations

from ...model.findings import Confidence, Severity
from ..model import Detection
from ..sqlparts import alert, bucket

TACTIC = "Impact"
STRATUM_PORTS = (3333, 4444, 5555, 7777, 14433, 14444, 45560, 45700)
# the function whose subnet the flow's interface is in (one of them when several share a subnet)
_FLOW_FUNCTION = "(SELECT min(fs.function_name) FROM function_subnets AS fs WHERE fs.subnet_id = flows.subnet_id)"

MINING_DNS = Detection(
    code="DET030", slug="mining-pool-dns", title="DNS query for a crypto-mining pool",
    severity=Severity.HIGH, confidence=Confidence.HIGH, tactic=TACTIC, technique="T1496", data_source="dns",
    rationale="Hijacked functions are a favourite for mining: many cheap, short-lived compute slots paid by "
              "someone else. A Resolver query for a known mining pool from a VPC is a strong sign.",
    false_positives="Security tooling resolving the list on purpose; extend or trim the list with "
                    "--mining-domains.",
    remediation="Find the function or instance behind the source address, stop it, and look for how its code "
                "was changed.",
    sql=alert(time="d.query_time", account="d.account", region="d.region", actor="d.instance_id",
              source_ip="d.src_addr", function="CAST(NULL AS VARCHAR)",
              event_ids="d.query_name || '@' || CAST(d.query_time AS VARCHAR)",
              detail="'query for ' || d.query_name || ' (mining pool ' || m.domain || ')'", failed="false",
              file="d.file") + """
FROM dns AS d JOIN mining_domains AS m
  ON d.query_name = m.domain OR d.query_name LIKE '%.' || m.domain""",
)

STRATUM = Detection(
    code="DET031", slug="stratum-port-flow", title="Connection to a mining (stratum) port",
    severity=Severity.HIGH, confidence=Confidence.MEDIUM, tactic=TACTIC, technique="T1496", data_source="flows",
    rationale="Mining software talks to its pool with the stratum protocol, by convention on a few ports. An "
              "accepted flow from a function's subnet to one of them is suspicious.",
    false_positives="Other software on those ports (some development servers use 3333 or 4444). Replies from a "
                    "well-known server port (below 1024) to a client's ephemeral port that happens to be 45560 or "
                    "45700 are not reported.",
    remediation="Identify the function or instance behind the interface and inspect its code.",
    sql=alert(time="start_time", actor="interface_id", source_ip="src_addr", function=_FLOW_FUNCTION,
              region="CAST(NULL AS VARCHAR)",
              event_ids="interface_id || ':' || src_addr || ':' || CAST(src_port AS VARCHAR) || '>' || dst_addr "
                        "|| ':' || CAST(dst_port AS VARCHAR) || '@' || CAST(start_time AS VARCHAR)",
              detail="'flow to ' || dst_addr || ':' || CAST(dst_port AS VARCHAR)", failed="false") + f"""
FROM flows
WHERE action = 'ACCEPT' AND dst_port IN ({', '.join(str(p) for p in STRATUM_PORTS)})
  AND (src_port IS NULL OR src_port >= 1024)
  AND ((SELECT count(*) FROM function_subnets) = 0 OR subnet_id IN (SELECT subnet_id FROM function_subnets))""",
)

_THREAT_SELECT = alert(time="f.start_time", actor="f.interface_id", source_ip="f.src_addr",
    function=_FLOW_FUNCTION.replace("flows.subnet_id", "f.subnet_id"), account="f.account",
    region="CAST(NULL AS VARCHAR)", file="f.file",
    event_ids="f.interface_id || ':' || f.src_addr || ':' || CAST(f.src_port AS VARCHAR) || '>' || "
              "f.dst_addr || ':' || CAST(f.dst_port AS VARCHAR) || '@' || CAST(f.start_time AS VARCHAR)",
    detail="'flow ' || f.src_addr || ' > ' || f.dst_addr || ':' || CAST(f.dst_port AS VARCHAR) || "
           "' (' || f.action || '), listed: ' || t.entry", failed="false")

THREAT_LIST = Detection(
    code="DET032", slug="threat-list-flow", title="Traffic with an address on a threat list",
    severity=Severity.HIGH, confidence=Confidence.MEDIUM, tactic="Command and Control", technique="T1071",
    data_source="flows",
    rationale="Flows to or from addresses your threat intelligence lists (--threat-list) show a function or "
              "instance talking to known attacker infrastructure.",
    false_positives="Stale threat-list entries (shared hosting, reassigned addresses).",
    remediation="Identify the workload behind the interface, block the address, and investigate.",
    sql=_THREAT_SELECT + f"""
FROM flows AS f JOIN threat_ips AS t
  ON t.bucket = {bucket('f.dst_addr_num')} AND f.dst_addr_num BETWEEN t.start_num AND t.end_num
UNION
""" + _THREAT_SELECT + f"""
FROM flows AS f JOIN threat_ips AS t
  ON t.bucket = {bucket('f.src_addr_num')} AND f.src_addr_num BETWEEN t.start_num AND t.end_num""",
)

GUARDDUTY = Detection(
    code="DET033", slug="guardduty-lambda-finding", title="GuardDuty finding about a Lambda function",
    severity=Severity.MEDIUM, confidence=Confidence.HIGH, tactic=TACTIC, technique="T1496",
    data_source="findings",
    rationale="GuardDuty Lambda Protection watches the network activity of functions; its findings are "
              "reported here with the others so one report covers both.",
    false_positives="As GuardDuty's own.",
    remediation="Follow the finding type's remediation in GuardDuty's documentation.",
    sql=alert(time="coalesce(updated_at, created_at)", actor="CAST(NULL AS VARCHAR)",
              source_ip="CAST(NULL AS VARCHAR)", function="coalesce(function_name, split_part(function_arn, ':', 7))",
              event_ids="finding_id", detail="finding_type || ': ' || coalesce(title, '')",
              severity="CASE WHEN severity >= 7 THEN 'high' WHEN severity >= 4 THEN 'medium' ELSE 'low' END",
              failed="false") + """
FROM findings
WHERE resource_type = 'Lambda' OR strpos(finding_type, 'Lambda') > 0""",
)

DETECTIONS = (MINING_DNS, STRATUM, THREAT_LIST, GUARDDUTY)
