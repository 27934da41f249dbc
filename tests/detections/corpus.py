"""Deterministic generators of BENIGN logs for `lambdasec detect`: every detection must stay silent on them.

Nothing here reads the clock or the network: each generator takes a seed for its own ``random.Random``, and times
start at 2026-03-01T00:00:00Z and only move forward by generated offsets.

``benign_cloudtrail`` mixes what a healthy serverless account logs:

- deployments by the CI role through CloudFormation (source IP and user agent ``cloudformation.amazonaws.com``):
  CreateFunction, UpdateFunctionCode, UpdateFunctionConfiguration, AddPermission with a SourceArn/SourceAccount
  condition, CreateEventSourceMapping;
- invocations: Lambda ``Invoke`` data events made by API Gateway and S3;
- reads by an engineer's SSO role from 198.51.100.10 with the AWS CLI (GetFunction, ListFunctions, GetPolicy,
  iam GetRole, now and then a ResourceNotFoundException);
- the functions' own calls (S3 GetObject/PutObject, DynamoDB GetItem) with their Lambda session: userIdentity.inScopeOf,
  the Lambda runtime's user agent, a source address inside AWS's us-east-1 ranges;
- CloudTrail DescribeTrails/GetTrailStatus and GuardDuty ListDetectors/GetDetector by the engineer.

``write_cloudtrail_export`` lays records out as CloudTrail delivers them to S3.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import ipaddress
import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ACCOUNT = "111122223333"
REGION = "us-east-1"
BASE = datetime(2026, 3, 1, tzinfo=timezone.utc)
BASE_EPOCH = int(BASE.timestamp())

CFN = "cloudformation.amazonaws.com"
ENGINEER_IP = "198.51.100.10"
CLI_UA = "aws-cli/2.15.0 Python/3.11.6 Linux/6.5 exe/x86_64.ubuntu.22"
LAMBDA_UA = ("Boto3/1.34.0 md/Botocore#1.34.0 ua/2.0 os/linux#5.10 md/arch#x86_64 lang/python#3.12.1 "
             "md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.0")
# us-east-1 blocks listed as AMAZON/EC2 in src/lambdasec/data/aws_ip_ranges.json: where Lambda's calls come from.
LAMBDA_NETWORKS = tuple(ipaddress.ip_network(block) for block in ("3.80.0.0/12", "44.192.0.0/11", "3.208.0.0/12"))

# name -> (role, access key id, role id)
FUNCTIONS = {
    "orders": ("orders-role", "ASIACORPUSORDERS0001", "AROACORPUSORDERS0001"),
    "thumbnails": ("thumbnails-role", "ASIACORPUSTHUMBS0001", "AROACORPUSTHUMBS0001"),
    "invoices": ("invoices-role", "ASIACORPUSINVOICE001", "AROACORPUSINVOICE001"),
}
BUCKETS = {"orders": "orders-uploads-111122223333", "thumbnails": "images-111122223333",
           "invoices": "invoices-111122223333"}
SSO_ROLE = "AWSReservedSSO_ReadOnlyAccess_0f1e2d3c4b5a6978"
TRAIL = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/management-events"
DETECTOR = "12abc34d567e8fa901bc2d34e56789f0"

# Stratum ports (DET031): never used as an ephemeral port here, since return traffic goes to the ephemeral port.
STRATUM_PORTS = frozenset({3333, 4444, 5555, 7777, 14433, 14444, 45560, 45700})

Record = dict[str, Any]


# ---------------------------------------------------------------------------------------------------- helpers


def _uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def _fn_arn(name: str, region: str = REGION) -> str:
    return f"arn:aws:lambda:{region}:{ACCOUNT}:function:{name}"


def _role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def _session(name: str, issuer: str, key: str, role_id: str, created: datetime, **extra: Any) -> dict[str, Any]:
    identity: dict[str, Any] = {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{name}",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{issuer.rsplit('/', 1)[-1]}/{name}",
        "accountId": ACCOUNT,
        "accessKeyId": key,
        "sessionContext": {
            "sessionIssuer": {"type": "Role", "principalId": role_id, "arn": _role_arn(issuer), "accountId": ACCOUNT,
                              "userName": issuer.rsplit("/", 1)[-1]},
            "webIdFederationData": {},
            "attributes": {"creationDate": _stamp(created), "mfaAuthenticated": "false"},
        },
    }
    identity.update(extra)
    return identity


def _ci(when: datetime) -> dict[str, Any]:
    return _session("GitHubActions", "ci-deploy", "ASIACORPUSCIDEPLOY01", "AROACORPUSCIDEPLOY01",
                    when.replace(minute=0, second=0), invokedBy=CFN)


def _engineer(when: datetime) -> dict[str, Any]:
    return _session("jane.doe@example.com", f"aws-reserved/sso.amazonaws.com/{SSO_ROLE}", "ASIACORPUSENGINEER01",
                    "AROACORPUSENGINEER01", when.replace(minute=0, second=0))


def _lambda(function: str, when: datetime) -> dict[str, Any]:
    role, key, role_id = FUNCTIONS[function]
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{function}"
    return _session(function, role, key, role_id, when.replace(minute=0, second=0),
                    inScopeOf={"issuerType": "AWS::Lambda::Function", "sourceArn": _fn_arn(function),
                               "credentialsIssuedTo": arn})


def _lambda_ip(rng: random.Random) -> str:
    network = rng.choice(LAMBDA_NETWORKS)
    return str(network.network_address + rng.randrange(1, network.num_addresses - 1))


def _config(name: str, rng: random.Random) -> dict[str, Any]:
    role = FUNCTIONS.get(name, (f"{name}-role", "", ""))[0]
    return {
        "functionName": name,
        "functionArn": _fn_arn(name),
        "runtime": "python3.12",
        "role": _role_arn(role),
        "handler": "app.handler",
        "codeSize": rng.randrange(2_000, 5_000_000),
        "description": "",
        "timeout": 30,
        "memorySize": rng.choice((128, 256, 512, 1024)),
        "lastModified": "2026-03-01T00:00:00.000+0000",
        "codeSha256": base64.b64encode(rng.randbytes(32)).decode(),
        "version": "$LATEST",
        "tracingConfig": {"mode": "PassThrough"},
        "revisionId": _uuid(rng),
        "state": "Active",
        "lastUpdateStatus": "InProgress",
        "packageType": "Zip",
        "architectures": ["x86_64"],
        "ephemeralStorage": {"size": 512},
    }


class _Log:
    """Builds records with their ids drawn from one generator."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def record(self, when: datetime, source: str, name: str, identity: dict[str, Any], *, ip: str, ua: str,
               request: Any = None, response: Any = None, read_only: bool = False, data: bool = False,
               resources: list[dict[str, Any]] | None = None, region: str = REGION,
               error: tuple[str, str] | None = None) -> Record:
        record: Record = {
            "eventVersion": "1.10" if data else "1.09",
            "userIdentity": identity,
            "eventTime": _stamp(when),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": ip,
            "userAgent": ua,
        }
        if error:
            record["errorCode"], record["errorMessage"] = error
        record["requestParameters"] = request
        record["responseElements"] = None if error else response
        record["requestID"] = _uuid(self.rng)
        record["eventID"] = _uuid(self.rng)
        record["readOnly"] = read_only
        if resources:
            record["resources"] = resources
        record["eventType"] = "AwsApiCall"
        record["managementEvent"] = not data
        record["recipientAccountId"] = ACCOUNT
        record["eventCategory"] = "Data" if data else "Management"
        return record


# ---------------------------------------------------------------------------------------------------- CloudTrail


def _deployment(log: _Log, when: datetime) -> Record:
    rng = log.rng
    function = rng.choice(sorted(FUNCTIONS))
    ci = _ci(when)
    kind = rng.randrange(5)
    if kind == 0:
        name = f"{function}-{rng.randrange(100, 999)}"
        request = {"functionName": name, "runtime": "python3.12", "role": _role_arn(f"{function}-role"),
                   "handler": "app.handler", "publish": False, "packageType": "Zip",
                   "code": {"s3Bucket": f"artifacts-{ACCOUNT}-{REGION}", "s3Key": f"{name}/build.zip"},
                   "layers": [f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:shared-utils:{rng.randrange(1, 9)}"]}
        return log.record(when, "lambda.amazonaws.com", "CreateFunction20150331", ci, ip=CFN, ua=CFN,
                          request=request, response=_config(name, rng))
    if kind == 1:
        request = {"functionName": function, "s3Bucket": f"artifacts-{ACCOUNT}-{REGION}",
                   "s3Key": f"{function}/build-{rng.randrange(1000, 9999)}.zip", "publish": False, "dryRun": False}
        return log.record(when, "lambda.amazonaws.com", "UpdateFunctionCode20150331v2", ci, ip=CFN, ua=CFN,
                          request=request, response=_config(function, rng))
    if kind == 2:
        request = {"functionName": function, "environment": {"variables": {"STAGE": "prod"}},
                   "memorySize": rng.choice((256, 512)), "role": _role_arn(FUNCTIONS[function][0])}
        return log.record(when, "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2", ci, ip=CFN,
                          ua=CFN, request=request, response=_config(function, rng))
    if kind == 3:
        bucket = BUCKETS[function]
        request = {"functionName": function, "statementId": f"s3-{rng.randrange(10_000)}",
                   "action": "lambda:InvokeFunction", "principal": "s3.amazonaws.com",
                   "sourceArn": f"arn:aws:s3:::{bucket}", "sourceAccount": ACCOUNT}
        statement = {"Sid": request["statementId"], "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                     "Action": "lambda:InvokeFunction", "Resource": _fn_arn(function),
                     "Condition": {"StringEquals": {"AWS:SourceAccount": ACCOUNT},
                                   "ArnLike": {"AWS:SourceArn": f"arn:aws:s3:::{bucket}"}}}
        return log.record(when, "lambda.amazonaws.com", "AddPermission20150331v2", ci, ip=CFN, ua=CFN,
                          request=request, response={"statement": json.dumps(statement, separators=(",", ":"))})
    queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{function}-queue"
    request = {"eventSourceArn": queue, "functionName": function, "batchSize": 10, "enabled": True}
    response = {"uUID": _uuid(rng), "batchSize": 10, "eventSourceArn": queue, "functionArn": _fn_arn(function),
                "state": "Creating", "stateTransitionReason": "USER_INITIATED"}
    return log.record(when, "lambda.amazonaws.com", "CreateEventSourceMapping20150331", ci, ip=CFN, ua=CFN,
                      request=request, response=response)


def _invocation(log: _Log, when: datetime) -> Record:
    rng = log.rng
    function = rng.choice(sorted(FUNCTIONS))
    service = "apigateway.amazonaws.com" if rng.random() < 0.6 else "s3.amazonaws.com"
    identity = {"type": "AWSService", "invokedBy": service}
    request = {"functionName": _fn_arn(function),
               "invocationType": "RequestResponse" if service.startswith("apigateway") else "Event"}
    return log.record(when, "lambda.amazonaws.com", "Invoke", identity, ip=service, ua=service, request=request,
                      data=True, resources=[{"accountId": ACCOUNT, "type": "AWS::Lambda::Function",
                                             "ARN": _fn_arn(function)}])


def _engineer_read(log: _Log, when: datetime) -> Record:
    rng = log.rng
    identity = _engineer(when)
    function = rng.choice(sorted(FUNCTIONS))
    region = "us-west-2" if rng.random() < 0.05 else REGION
    kind = rng.randrange(4)
    if kind == 0:
        missing = rng.random() < 0.05
        name = f"{function}-old" if missing else function
        error = ("ResourceNotFoundException", f"Function not found: {_fn_arn(name, region)}") if missing else None
        return log.record(when, "lambda.amazonaws.com", "GetFunction20150331v2", identity, ip=ENGINEER_IP,
                          ua=CLI_UA, request={"functionName": name}, read_only=True, region=region, error=error)
    if kind == 1:
        return log.record(when, "lambda.amazonaws.com", "ListFunctions20150331", identity, ip=ENGINEER_IP,
                          ua=CLI_UA, read_only=True, region=region)
    if kind == 2:
        return log.record(when, "lambda.amazonaws.com", "GetPolicy20150331v2", identity, ip=ENGINEER_IP, ua=CLI_UA,
                          request={"functionName": function}, read_only=True, region=region)
    return log.record(when, "iam.amazonaws.com", "GetRole", identity, ip=ENGINEER_IP, ua=CLI_UA,
                      request={"roleName": FUNCTIONS[function][0]}, read_only=True)


def _function_call(log: _Log, when: datetime) -> Record:
    rng = log.rng
    function = rng.choice(sorted(FUNCTIONS))
    identity = _lambda(function, when)
    ip = _lambda_ip(rng)
    kind = rng.randrange(3)
    if kind == 2:
        table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{function}"
        return log.record(when, "dynamodb.amazonaws.com", "GetItem", identity, ip=ip, ua=LAMBDA_UA,
                          request={"tableName": function, "key": {"pk": f"{function}#{rng.randrange(10**6)}"},
                                   "consistentRead": False},
                          read_only=True, data=True,
                          resources=[{"accountId": ACCOUNT, "type": "AWS::DynamoDB::Table", "ARN": table}])
    bucket = BUCKETS[function]
    key = f"incoming/{rng.randrange(10**8):08d}.json"
    name = "GetObject" if kind == 0 else "PutObject"
    return log.record(when, "s3.amazonaws.com", name, identity, ip=ip, ua=LAMBDA_UA,
                      request={"bucketName": bucket, "Host": f"{bucket}.s3.{REGION}.amazonaws.com", "key": key},
                      read_only=name == "GetObject", data=True,
                      resources=[{"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
                                 {"accountId": ACCOUNT, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"}])


def _monitoring_read(log: _Log, when: datetime) -> Record:
    identity = _engineer(when)
    kind = log.rng.randrange(4)
    if kind == 0:
        return log.record(when, "cloudtrail.amazonaws.com", "DescribeTrails", identity, ip=ENGINEER_IP, ua=CLI_UA,
                          request={"trailNameList": [], "includeShadowTrails": True}, read_only=True)
    if kind == 1:
        return log.record(when, "cloudtrail.amazonaws.com", "GetTrailStatus", identity, ip=ENGINEER_IP, ua=CLI_UA,
                          request={"name": TRAIL}, read_only=True)
    if kind == 2:
        return log.record(when, "guardduty.amazonaws.com", "ListDetectors", identity, ip=ENGINEER_IP, ua=CLI_UA,
                          request={}, response={"detectorIds": [DETECTOR]}, read_only=True)
    return log.record(when, "guardduty.amazonaws.com", "GetDetector", identity, ip=ENGINEER_IP, ua=CLI_UA,
                      request={"detectorId": DETECTOR}, read_only=True)


_KINDS = ((_function_call, 40), (_invocation, 30), (_engineer_read, 15), (_deployment, 10), (_monitoring_read, 5))


def benign_cloudtrail(n: int, seed: int = 0) -> list[Record]:
    """``n`` benign CloudTrail records in time order, the same for the same seed."""
    rng = random.Random(seed)
    log = _Log(rng)
    makers = [maker for maker, _ in _KINDS]
    weights = [weight for _, weight in _KINDS]
    records: list[Record] = []
    offset = 0
    for _ in range(n):
        offset += rng.randrange(0, 20)
        maker = rng.choices(makers, weights)[0]
        records.append(maker(log, BASE + timedelta(seconds=offset)))
    return records


def write_cloudtrail_export(root: Path, records: list[Record], *, per_file: int = 500,
                            account: str = ACCOUNT) -> list[Path]:
    """Write ``records`` as CloudTrail delivers them to S3, under ``root``; return the files in order.

    Layout: ``AWSLogs/<account>/CloudTrail/<region>/YYYY/MM/DD/`` then
    ``<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json.gz``, each file holding ``{"Records": [...]}``.
    Records are grouped by region and day, in time order, at most ``per_file`` to a file; a file is named after its
    last record's minute, and ``<id>`` (16 letters and digits) is derived from the file's content, so the same
    records always give the same files.
    """
    if per_file < 1:
        raise ValueError("per_file must be at least 1")
    groups: dict[tuple[str, str], list[Record]] = {}
    for record in sorted(records, key=lambda r: (r["awsRegion"], r["eventTime"])):
        groups.setdefault((record["awsRegion"], record["eventTime"][:10]), []).append(record)
    alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    written: list[Path] = []
    for (region, day), group in sorted(groups.items()):
        for start in range(0, len(group), per_file):
            chunk = group[start:start + per_file]
            body = json.dumps({"Records": chunk}, separators=(",", ":")).encode()
            digest = int.from_bytes(hashlib.sha256(body).digest(), "big")
            file_id = "".join(alphabet[(digest >> (6 * i)) % len(alphabet)] for i in range(16))
            last = datetime.strptime(chunk[-1]["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
            folder = root / "AWSLogs" / account / "CloudTrail" / region / day[:4] / day[5:7] / day[8:10]
            folder.mkdir(parents=True, exist_ok=True)
            path = folder / f"{account}_CloudTrail_{region}_{last:%Y%m%dT%H%MZ}_{file_id}.json.gz"
            path.write_bytes(gzip.compress(body, mtime=0))
            written.append(path)
    return written


# ---------------------------------------------------------------------------------------------------- DNS

_DNS_NAMES = (
    ("dynamodb.us-east-1.amazonaws.com.", "52.94.0.{}"),
    ("s3.us-east-1.amazonaws.com.", "52.216.{}.12"),
    ("sqs.us-east-1.amazonaws.com.", "52.94.0.{}"),
    ("sts.amazonaws.com.", "52.94.0.{}"),
    ("secretsmanager.us-east-1.amazonaws.com.", "52.94.0.{}"),
    ("logs.us-east-1.amazonaws.com.", "52.94.0.{}"),
    ("orders-uploads-111122223333.s3.amazonaws.com.", "52.216.{}.40"),
    ("api.github.com.", "192.0.2.{}"),
    ("pypi.org.", "192.0.2.{}"),
    ("registry.npmjs.org.", "192.0.2.{}"),
    ("hooks.slack.com.", "192.0.2.{}"),
    ("api.stripe.com.", "192.0.2.{}"),
    ("www.example.com.", "192.0.2.{}"),
)
_INSTANCES = ("i-0123456789abcdef0", "i-0fedcba9876543210")
_LAMBDA_ENIS = ("eni-0a1b2c3d4e5f60718", "eni-0f1e2d3c4b5a69788")


def benign_dns(n: int, seed: int = 0) -> list[Record]:
    """``n`` Route 53 Resolver query log records (one JSON object per line in a log file), in time order."""
    rng = random.Random(seed)
    lines: list[Record] = []
    offset = 0
    for _ in range(n):
        offset += rng.randrange(0, 5)
        name, answer = rng.choice(_DNS_NAMES)
        qtype = "AAAA" if rng.random() < 0.1 else "A"
        rcode = "NOERROR"
        answers = [{"Rdata": answer.format(rng.randrange(1, 255)), "Type": "A", "Class": "IN"}]
        if qtype == "AAAA":
            answers = [{"Rdata": f"2001:db8::{rng.randrange(1, 0xFFFF):x}", "Type": "AAAA", "Class": "IN"}]
        if rng.random() < 0.05:  # the resolver tries the VPC's search domain first
            name, rcode, answers = name + "ec2.internal.", "NXDOMAIN", []
        lambda_client = rng.random() < 0.5
        lines.append({
            "version": "1.100000",
            "account_id": ACCOUNT,
            "region": REGION,
            "vpc_id": "vpc-0a1b2c3d4e5f60718",
            "query_timestamp": _stamp(BASE + timedelta(seconds=offset)),
            "query_name": name,
            "query_type": qtype,
            "query_class": "IN",
            "rcode": rcode,
            "answers": answers,
            "srcaddr": f"10.0.{rng.randrange(1, 4)}.{rng.randrange(4, 250)}",
            "srcport": str(_ephemeral(rng)),
            "transport": "UDP" if rng.random() < 0.95 else "TCP",
            "srcids": {"resource": rng.choice(_LAMBDA_ENIS)} if lambda_client else {"instance": rng.choice(_INSTANCES)},
        })
    return lines


def write_dns(path: Path, records: list[Record]) -> Path:
    """Write DNS records as a query log file (JSON lines)."""
    path.write_text("".join(json.dumps(record, separators=(",", ":")) + "\n" for record in records))
    return path


# ---------------------------------------------------------------------------------------------------- flows


def _ephemeral(rng: random.Random) -> int:
    while True:
        port = rng.randrange(32768, 61000)
        if port not in STRATUM_PORTS:
            return port


def benign_flows(n: int, seed: int = 0) -> list[str]:
    """``n`` VPC flow log lines in the default version-2 format (no header): HTTPS and DNS traffic only."""
    rng = random.Random(seed)
    lines: list[str] = []
    start = BASE_EPOCH
    while len(lines) < n:
        start += rng.randrange(0, 10)
        eni = rng.choice(_LAMBDA_ENIS)
        local = f"10.0.{rng.randrange(1, 4)}.{rng.randrange(4, 250)}"
        port = _ephemeral(rng)
        if rng.random() < 0.7:
            remote = f"52.94.0.{rng.randrange(1, 255)}" if rng.random() < 0.7 else f"192.0.2.{rng.randrange(1, 255)}"
            dport, proto = 443, 6
        else:
            remote, dport, proto = "10.0.0.2", 53, 17
        packets = rng.randrange(1, 60)
        size = packets * rng.randrange(60, 1500)
        end = start + 60
        lines.append(f"2 {ACCOUNT} {eni} {local} {remote} {port} {dport} {proto} {packets} {size} {start} {end} "
                     "ACCEPT OK")
        if len(lines) < n:  # the answer
            back = rng.randrange(1, 60)
            lines.append(f"2 {ACCOUNT} {eni} {remote} {local} {dport} {port} {proto} {back} "
                         f"{back * rng.randrange(60, 1500)} {start} {end} ACCEPT OK")
    return lines


def write_flows(path: Path, lines: list[str]) -> Path:
    """Write flow log lines to a file (no header: the default format)."""
    path.write_text("".join(line + "\n" for line in lines))
    return path
