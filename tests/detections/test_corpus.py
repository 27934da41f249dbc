"""The benign corpus generators: shape, determinism, and the CloudTrail S3 export layout."""

from __future__ import annotations

import gzip
import ipaddress
import json
import re
from pathlib import Path

import pytest

from .corpus import (
    BASE,
    STRATUM_PORTS,
    benign_cloudtrail,
    benign_dns,
    benign_flows,
    write_cloudtrail_export,
    write_dns,
    write_flows,
)

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "src" / "lambdasec" / "data"
CFN = "cloudformation.amazonaws.com"
CI_ARN = "arn:aws:sts::111122223333:assumed-role/ci-deploy/GitHubActions"
TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
REQUIRED = {"eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress",
            "userAgent", "requestParameters", "responseElements", "requestID", "eventID", "readOnly", "eventType",
            "managementEvent", "recipientAccountId", "eventCategory"}


def _aws_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    ranges = json.loads((DATA / "aws_ip_ranges.json").read_text())
    return ([ipaddress.ip_network(p["ip_prefix"]) for p in ranges["prefixes"]]
            + [ipaddress.ip_network(p["ipv6_prefix"]) for p in ranges["ipv6_prefixes"]])


def test_generators_are_deterministic() -> None:
    assert benign_cloudtrail(300, seed=7) == benign_cloudtrail(300, seed=7)
    assert benign_cloudtrail(300, seed=7) != benign_cloudtrail(300, seed=8)
    assert benign_dns(300, seed=7) == benign_dns(300, seed=7)
    assert benign_dns(300, seed=7) != benign_dns(300, seed=8)
    assert benign_flows(300, seed=7) == benign_flows(300, seed=7)
    assert benign_flows(300, seed=7) != benign_flows(300, seed=8)
    # A shorter run is the beginning of a longer one.
    assert benign_cloudtrail(50, seed=3) == benign_cloudtrail(120, seed=3)[:50]


def test_cloudtrail_records_have_cloudtrail_shape_and_move_forward_in_time() -> None:
    records = benign_cloudtrail(2000, seed=1)
    assert len(records) == 2000
    assert all(record.keys() >= REQUIRED for record in records)
    assert all(TIME.match(record["eventTime"]) for record in records)
    times = [record["eventTime"] for record in records]
    assert times == sorted(times)
    assert times[0] >= BASE.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert len({record["eventID"] for record in records}) == 2000
    assert {record["recipientAccountId"] for record in records} == {"111122223333"}
    kinds = {(record["eventSource"], record["eventName"]) for record in records}
    assert {
        ("lambda.amazonaws.com", "CreateFunction20150331"),
        ("lambda.amazonaws.com", "UpdateFunctionCode20150331v2"),
        ("lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2"),
        ("lambda.amazonaws.com", "AddPermission20150331v2"),
        ("lambda.amazonaws.com", "CreateEventSourceMapping20150331"),
        ("lambda.amazonaws.com", "Invoke"),
        ("lambda.amazonaws.com", "GetFunction20150331v2"),
        ("lambda.amazonaws.com", "ListFunctions20150331"),
        ("lambda.amazonaws.com", "GetPolicy20150331v2"),
        ("iam.amazonaws.com", "GetRole"),
        ("s3.amazonaws.com", "GetObject"),
        ("s3.amazonaws.com", "PutObject"),
        ("dynamodb.amazonaws.com", "GetItem"),
        ("cloudtrail.amazonaws.com", "DescribeTrails"),
        ("cloudtrail.amazonaws.com", "GetTrailStatus"),
        ("guardduty.amazonaws.com", "ListDetectors"),
        ("guardduty.amazonaws.com", "GetDetector"),
    } == kinds


def test_cloudtrail_changes_go_through_cloudformation_and_grants_are_conditioned() -> None:
    records = benign_cloudtrail(2000, seed=2)
    changes = [r for r in records if r["eventSource"] == "lambda.amazonaws.com" and not r["readOnly"]
               and r["eventName"] != "Invoke"]
    assert changes
    for record in changes:
        assert record["sourceIPAddress"] == CFN and record["userAgent"] == CFN
        assert record["userIdentity"]["arn"] == CI_ARN
        assert record["userIdentity"]["invokedBy"] == CFN
    grants = [r["requestParameters"] for r in changes if r["eventName"].startswith("AddPermission")]
    assert grants and all(g["sourceArn"] and g["sourceAccount"] == "111122223333" for g in grants)
    invokes = [r for r in records if r["eventName"] == "Invoke"]
    assert {r["sourceIPAddress"] for r in invokes} == {"apigateway.amazonaws.com", "s3.amazonaws.com"}
    assert all(r["eventCategory"] == "Data" and r["managementEvent"] is False for r in invokes)
    failed = [r for r in records if "errorCode" in r]
    assert failed and {r["errorCode"] for r in failed} == {"ResourceNotFoundException"}
    assert all(r["readOnly"] for r in failed)


def test_lambda_sessions_call_from_inside_aws_with_the_runtime_user_agent() -> None:
    networks = _aws_networks()
    sessions = [r for r in benign_cloudtrail(2000, seed=3) if "inScopeOf" in r["userIdentity"]]
    assert len(sessions) > 500
    for record in sessions:
        identity = record["userIdentity"]
        assert identity["type"] == "AssumedRole"
        assert identity["inScopeOf"]["issuerType"] == "AWS::Lambda::Function"
        function = identity["inScopeOf"]["sourceArn"].rsplit(":", 1)[1]
        assert identity["arn"].rsplit("/", 1)[1] == function
        assert identity["accessKeyId"].startswith("ASIA")
        assert "exec-env/AWS_Lambda_python3.12" in record["userAgent"]
        address = ipaddress.ip_address(record["sourceIPAddress"])
        assert any(address in network for network in networks), record["sourceIPAddress"]
    # One access key per function, each always seen with the runtime's user agent.
    keys = {(r["userIdentity"]["accessKeyId"], r["userIdentity"]["inScopeOf"]["sourceArn"]) for r in sessions}
    assert len(keys) == 3


def _mining_domains() -> list[str]:
    lines = (DATA / "mining_pools.txt").read_text().splitlines()
    return [d for d in (line.split("#", 1)[0].strip().lower() for line in lines) if d]


def test_dns_records_have_the_resolver_log_shape_and_no_mining_domain(tmp_path: Path) -> None:
    records = benign_dns(1000, seed=4)
    assert len(records) == 1000
    pools = _mining_domains()
    assert len(pools) >= 60
    for record in records:
        assert set(record) == {"version", "account_id", "region", "vpc_id", "query_timestamp", "query_name",
                               "query_type", "query_class", "rcode", "answers", "srcaddr", "srcport", "transport",
                               "srcids"}
        assert TIME.match(record["query_timestamp"])
        name = record["query_name"].rstrip(".").lower()
        assert record["query_name"].endswith(".")
        assert not any(name == pool or name.endswith("." + pool) for pool in pools)
        assert (record["rcode"] == "NXDOMAIN") == (record["answers"] == [])
    assert {r["rcode"] for r in records} == {"NOERROR", "NXDOMAIN"}
    path = write_dns(tmp_path / "resolver.jsonl", records[:3])
    assert [json.loads(line) for line in path.read_text().splitlines()] == records[:3]


def test_flow_lines_are_default_format_https_and_dns_only(tmp_path: Path) -> None:
    lines = benign_flows(1001, seed=5)
    assert len(lines) == 1001
    for line in lines:
        fields = line.split(" ")
        assert len(fields) == 14
        version, account, eni, src, dst, sport, dport, proto, packets, size, start, end, action, status = fields
        assert (version, account, action, status) == ("2", "111122223333", "ACCEPT", "OK")
        assert eni.startswith("eni-")
        ipaddress.ip_address(src)
        ipaddress.ip_address(dst)
        assert {int(sport), int(dport)} & {443, 53}
        assert int(dport) not in STRATUM_PORTS
        assert proto == ("17" if 53 in (int(sport), int(dport)) else "6")
        assert int(packets) > 0 and int(size) > 0
        assert int(end) - int(start) == 60 and int(start) >= int(BASE.timestamp())
        assert "198.51.100.66" not in (src, dst)
    path = write_flows(tmp_path / "flows.log", lines[:2])
    assert path.read_text() == lines[0] + "\n" + lines[1] + "\n"


def test_export_layout_is_exact(tmp_path: Path) -> None:
    records = benign_cloudtrail(3, seed=0)
    paths = write_cloudtrail_export(tmp_path, records)
    assert [p.relative_to(tmp_path).as_posix() for p in paths] == [
        "AWSLogs/111122223333/CloudTrail/us-east-1/2026/03/01/"
        "111122223333_CloudTrail_us-east-1_20260301T0000Z_kgBLedOgisbh9vEs.json.gz",
    ]
    body = json.loads(gzip.decompress(paths[0].read_bytes()))
    assert body == {"Records": records}


def test_export_splits_by_region_day_and_size(tmp_path: Path) -> None:
    records = benign_cloudtrail(1500, seed=6)
    records[10] = dict(records[10], awsRegion="eu-west-1")
    paths = write_cloudtrail_export(tmp_path, records, per_file=500, account="999988887777")
    name = re.compile(r"^AWSLogs/999988887777/CloudTrail/(?P<region>[a-z0-9-]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/"
                      r"999988887777_CloudTrail_(?P=region)_(?P=y)(?P=m)(?P=d)T\d{4}Z_[0-9A-Za-z]{16}\.json\.gz$")
    seen: list[str] = []
    for path in paths:
        match = name.match(path.relative_to(tmp_path).as_posix())
        assert match, path
        chunk = json.loads(gzip.decompress(path.read_bytes()))["Records"]
        assert 1 <= len(chunk) <= 500
        assert {r["awsRegion"] for r in chunk} == {match["region"]}
        assert {r["eventTime"][:10] for r in chunk} == {f"{match['y']}-{match['m']}-{match['d']}"}
        assert [r["eventTime"] for r in chunk] == sorted(r["eventTime"] for r in chunk)
        seen += [r["eventID"] for r in chunk]
    assert sorted(seen) == sorted(r["eventID"] for r in records)
    assert len(paths) == len(set(paths))
    assert any("/eu-west-1/" in p.as_posix() for p in paths)
    # The same records give the same files.
    again = write_cloudtrail_export(tmp_path / "again", records, per_file=500, account="999988887777")
    assert [p.relative_to(tmp_path / "again") for p in again] == [p.relative_to(tmp_path) for p in paths]
    with pytest.raises(ValueError):
        write_cloudtrail_export(tmp_path, records, per_file=0)
