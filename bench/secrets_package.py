#!/usr/bin/env python3
"""Build the deployment package of the secrets benchmark (bench/secrets_bench.py).

    python3 bench/secrets_package.py      # build bench/.work/secrets/ and list where the secrets were planted

What it builds in bench/.work/secrets/:

- ``package/``: a Lambda deployment package as ``sam build`` or ``pip install --target`` leaves it: pinned
  dependencies from PyPI (boto3 with botocore, requests, pydantic, PyJWT, numpy and what they need; about 86 MB,
  3,400 files) installed for the python3.12 runtime on x86_64 Linux, plus the team's own code in
  ``orders_service/`` (a handler and a settings module) with planted secrets;
- ``template.yaml``: a SAM template whose function has ``CodeUri: package/``;
- ``package.zip``: the same package as a zip, byte for byte reproducible (sorted entries, fixed timestamps).

The planted secrets are generated from a seeded random generator and assembled from pieces here, so this
repository holds no scannable token; their values look real (no EXAMPLE, no placeholder). The full values only
exist in the generated package and in memory: :meth:`PlantedSecret.public` is what may be written elsewhere.
The vendored dependencies are installed again only when the pinned list changes. Standard library only.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import shutil
import string
import subprocess
import sys
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
OUT = BENCH / ".work" / "secrets"

# Every distribution of the package, dependencies included, pinned: the same package on every machine.
REQUIREMENTS = (
    "boto3==1.44.8",
    "botocore==1.44.8",
    "s3transfer==0.19.3",
    "jmespath==1.1.0",
    "python-dateutil==2.9.0.post0",
    "six==1.17.0",
    "urllib3==2.8.0",
    "requests==2.34.2",
    "idna==3.20",
    "charset-normalizer==3.5.3",
    "certifi==2026.10.19.post1",
    "pydantic==2.14.4",
    "pydantic-core==2.50.5",
    "typing-extensions==4.16.0",
    "annotated-types==0.8.0",
    "typing-inspection==0.4.5",
    "PyJWT==2.15.1",
    "numpy==2.5.5",
)
# Wheels for the Lambda runtime rather than for the machine that runs the benchmark. pip does not widen a
# manylinux_2_28 platform to older glibc tags, hence manylinux2014 as well.
PIP_TARGET_OPTIONS = (
    "--only-binary=:all:", "--implementation", "cp", "--python-version", "3.12",
    "--platform", "manylinux_2_28_x86_64", "--platform", "manylinux2014_x86_64",
)
TEAM_PACKAGE = "orders_service"
SEED = 5
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)

_ALNUM = string.ascii_letters + string.digits
_PLACEHOLDER_WORDS = ("example", "xxx", "test", "dummy", "fake", "sample", "changeme", "placeholder", "redacted")


@dataclass(frozen=True)
class PlantedSecret:
    kind: str                # stable slug
    label: str               # readable kind
    path: str                # POSIX path relative to the package root
    lines: tuple[int, ...]   # 1-based lines where a finding counts as this secret
    values: tuple[str, ...]  # full values: in memory only, never written to results or docs

    def public(self) -> dict[str, object]:
        """What may be printed or stored: no value, only where and what."""
        return {"kind": self.kind, "label": self.label, "path": self.path, "lines": list(self.lines)}


@dataclass(frozen=True)
class BenchPackage:
    root: Path       # bench/.work/secrets
    package: Path    # root/package
    zip_path: Path   # root/package.zip
    template: Path   # root/template.yaml
    planted: tuple[PlantedSecret, ...]
    files: int       # files in the package directory
    bytes: int       # their total size
    team_files: int  # files of the team's own code (the rest is vendored)
    zip_bytes: int


# --------------------------------------------------------------------------------------------------
# Secret values
# --------------------------------------------------------------------------------------------------


def _token(rng: random.Random, alphabet: str, length: int) -> str:
    """A random token that no scanner could mistake for a placeholder or an example value."""
    while True:
        value = "".join(rng.choice(alphabet) for _ in range(length))
        if not any(word in value.lower() for word in _PLACEHOLDER_WORDS):
            return value


def _der_length(length: int) -> bytes:
    if length < 0x80:
        return bytes([length])
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(size)]) + size


def _der_integer(value: bytes) -> bytes:
    if value[0] & 0x80:  # keep it positive
        value = b"\x00" + value
    return b"\x02" + _der_length(len(value)) + value


def _private_key_pem(rng: random.Random) -> str:
    """A PKCS#1 RSA-2048 private key block: well-formed DER with random numbers (no real key behind it)."""
    def number(size: int) -> bytes:
        return bytes([rng.randrange(0x80, 0x100)]) + rng.randbytes(size - 1)

    fields = [b"\x00", number(256), b"\x01\x00\x01", number(256), *(number(128) for _ in range(5))]
    body = b"".join(_der_integer(field) for field in fields)
    der = b"\x30" + _der_length(len(body)) + body
    encoded = base64.b64encode(der).decode()
    label = "RSA " + "PRIVATE KEY"
    lines = [encoded[i:i + 64] for i in range(0, len(encoded), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"])


def _secret_values(rng: random.Random) -> dict[str, str]:
    """The planted values, by template field. Provider prefixes are split so this file matches no rule."""
    base32 = string.ascii_uppercase + "234567"
    url_safe = _ALNUM + "-_"
    return {
        "aws_key_id": "AK" + "IA" + _token(rng, base32, 16),
        "aws_secret": _token(rng, _ALNUM + "/+", 40),
        "github_token": "gh" + "p_" + _token(rng, _ALNUM, 36),
        "slack_webhook": "https://hooks." + "slack.com/services/" + "T" + _token(rng, string.ascii_uppercase
                         + string.digits, 10) + "/B" + _token(rng, string.ascii_uppercase + string.digits, 10)
                         + "/" + _token(rng, _ALNUM, 24),
        "stripe_key": "sk" + "_live_" + _token(rng, _ALNUM, 32),
        "sendgrid_key": "S" + "G." + _token(rng, url_safe, 22) + "." + _token(rng, url_safe, 43),
        "database_url": "postgresql://orders_app:" + _token(rng, _ALNUM, 24)
                        + "@orders-prod.cluster-c4n7qk2x9wbe.eu-west-1.rds.amazonaws.com:5432/orders",
        "smtp_password": _token(rng, _ALNUM + "!#%*-_.+=", 22),
        "private_key": _private_key_pem(rng),
    }


# (kind, label, file, template fields): one planted secret each; the AWS pair is one secret on two lines.
_PLANTED = (
    ("aws-access-key-pair", "AWS access key pair", "settings.py", ("aws_key_id", "aws_secret")),
    ("github-token", "GitHub token", "settings.py", ("github_token",)),
    ("slack-webhook", "Slack webhook URL", "handler.py", ("slack_webhook",)),
    ("stripe-live-key", "Stripe live secret key", "settings.py", ("stripe_key",)),
    ("sendgrid-api-key", "SendGrid API key", "settings.py", ("sendgrid_key",)),
    ("database-url-password", "database URL with a password", "settings.py", ("database_url",)),
    ("private-key", "RSA private key block", "handler.py", ("private_key",)),
    ("generic-password", "password assigned to a sensitive name", "settings.py", ("smtp_password",)),
)


# --------------------------------------------------------------------------------------------------
# The team's code
# --------------------------------------------------------------------------------------------------

# string.Template: the code's own braces (f-strings, dicts) stay as they are.
_SETTINGS = string.Template('''\
"""Configuration of the orders service."""

import os

REGION = os.environ.get("AWS_REGION", "eu-west-1")
TABLE_NAME = os.environ.get("TABLE_NAME", "orders")
FULFILMENT_URL = "https://fulfilment.acme-internal.net/v1/shipments"
SECRET_ARN = os.environ.get("ORDERS_SECRET_ARN", "")

# Nightly export to the finance account's bucket (that account's IAM user).
EXPORT_BUCKET = "acme-finance-exports-eu-west-1"
EXPORT_AWS_ACCESS_KEY_ID = "$aws_key_id"
EXPORT_AWS_SECRET_ACCESS_KEY = "$aws_secret"

# Release notes bot.
GITHUB_REPOSITORY = "acme/orders-service"
GITHUB_TOKEN = "$github_token"

STRIPE_API_KEY = "$stripe_key"
SENDGRID_API_KEY = "$sendgrid_key"
DATABASE_URL = "$database_url"

SMTP_HOST = "smtp.acme-mail.net"
SMTP_PORT = 587
SMTP_USER = "orders-notifications"
SMTP_PASSWORD = "$smtp_password"

# Not secrets, but what real configuration holds: a digest, a UUID namespace, header names, limits.
ORDER_SCHEMA_SHA256 = "$schema_digest"
IDEMPOTENCY_NAMESPACE = "$idempotency_namespace"
API_KEY_HEADER = "X-Api-Key"
PASSWORD_MIN_LENGTH = 12
TOKEN_TTL_SECONDS = 300
''')

_HANDLER = string.Template('''\
"""Orders API: validates an order, stores it, charges the card and tells the team."""

from __future__ import annotations

import json
import os
import time

import boto3
import jwt
import requests
from pydantic import BaseModel, Field

from . import settings

SLACK_WEBHOOK_URL = "$slack_webhook"

# Signs the service tokens that the fulfilment service accepts.
SERVICE_SIGNING_KEY = """$private_key"""

_table = boto3.resource("dynamodb", region_name=settings.REGION).Table(settings.TABLE_NAME)


class OrderLine(BaseModel):
    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)
    unit_price_cents: int = Field(ge=0)


class Order(BaseModel):
    order_id: str
    customer_id: str
    lines: list[OrderLine]
    currency: str = "EUR"

    def total_cents(self) -> int:
        return sum(line.quantity * line.unit_price_cents for line in self.lines)


def _charge(order: Order) -> dict:
    response = requests.post(
        "https://api.stripe.com/v1/payment_intents",
        auth=(settings.STRIPE_API_KEY, ""),
        data={"amount": order.total_cents(), "currency": order.currency.lower(),
              "metadata[order_id]": order.order_id},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def _service_token(order: Order) -> str:
    now = int(time.time())
    claims = {"sub": order.order_id, "iss": "orders-api", "iat": now, "exp": now + settings.TOKEN_TTL_SECONDS}
    return jwt.encode(claims, SERVICE_SIGNING_KEY, algorithm="RS256")


def _notify(order: Order, charge: dict) -> None:
    text = f"Order {order.order_id} paid: {order.total_cents() / 100:.2f} {order.currency} ({charge.get('id')})"
    requests.post(SLACK_WEBHOOK_URL, json={"text": text}, timeout=5)


def handler(event: dict, context: object) -> dict:
    order = Order.model_validate_json(event.get("body") or "{}")
    charge = _charge(order)
    _table.put_item(Item={"order_id": order.order_id, "customer_id": order.customer_id, "charge": charge["id"]})
    _notify(order, charge)
    headers = {"Authorization": f"Bearer {_service_token(order)}",
               "X-Request-Id": os.environ.get("_X_AMZN_TRACE_ID", "")}
    requests.post(settings.FULFILMENT_URL, json=json.loads(order.model_dump_json()), headers=headers, timeout=10)
    return {"statusCode": 201, "body": json.dumps({"order_id": order.order_id})}
''')

# Only features that lambdasec's native SAM expander reproduces (AWS::Serverless::SimpleTable, for one, is not:
# it would add the official translator's start-up, about 1.5 s, to every lambdasec case).
_TEMPLATE = '''\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Description: Orders API (lambdasec secrets benchmark)

Resources:
  OrdersFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.12
      Architectures: [x86_64]
      Handler: orders_service.handler.handler
      CodeUri: package/
      MemorySize: 512
      Timeout: 30
      Environment:
        Variables:
          TABLE_NAME: !Ref OrdersTable
      Policies:
        - DynamoDBCrudPolicy:
            TableName: !Ref OrdersTable
      Events:
        CreateOrder:
          Type: HttpApi
          Properties:
            Path: /orders
            Method: post

  OrdersTable:
    Type: AWS::DynamoDB::Table
    Properties:
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions:
        - AttributeName: order_id
          AttributeType: S
      KeySchema:
        - AttributeName: order_id
          KeyType: HASH
      SSESpecification:
        SSEEnabled: true
'''


def _line_of(text: str, value: str) -> int:
    return text[:text.index(value)].count("\n") + 1


def write_team_code(package: Path, seed: int = SEED) -> tuple[PlantedSecret, ...]:
    """Write orders_service/ into ``package`` and return where each planted secret is."""
    rng = random.Random(seed)
    values = _secret_values(rng)
    fields = {
        **values,
        "schema_digest": hashlib.sha256(b"orders-service/order.schema.json@v3").hexdigest(),
        "idempotency_namespace": str(uuid.uuid5(uuid.NAMESPACE_DNS, "orders.acme-internal.net")),
    }
    texts = {"settings.py": _SETTINGS.substitute(fields), "handler.py": _HANDLER.substitute(fields),
             "__init__.py": ""}
    team = package / TEAM_PACKAGE
    shutil.rmtree(team, ignore_errors=True)
    team.mkdir(parents=True)
    for name, text in texts.items():
        (team / name).write_text(text)
    planted = []
    for kind, label, name, keys in _PLANTED:
        text = texts[name]
        first = _line_of(text, values[keys[0]])
        last = max(_line_of(text, values[key]) + values[key].count("\n") for key in keys)
        planted.append(PlantedSecret(kind, label, f"{TEAM_PACKAGE}/{name}", tuple(range(first, last + 1)),
                                     tuple(values[key] for key in keys)))
    return tuple(planted)


# --------------------------------------------------------------------------------------------------
# Vendored dependencies, template, zip
# --------------------------------------------------------------------------------------------------


def install_dependencies(package: Path, log: Path) -> None:
    """``pip install --target`` the pinned requirements, unless the package already holds exactly them."""
    stamp = package.parent / "vendored.json"
    wanted = {"requirements": list(REQUIREMENTS), "options": list(PIP_TARGET_OPTIONS)}
    if package.is_dir() and stamp.exists() and json.loads(stamp.read_text()) == wanted:
        return
    print(f"installing {len(REQUIREMENTS)} pinned distributions into {package}...", file=sys.stderr, flush=True)
    shutil.rmtree(package, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    command = [sys.executable, "-m", "pip", "install", "--disable-pip-version-check", "--target", str(package),
               "--no-compile", *PIP_TARGET_OPTIONS, *REQUIREMENTS]
    with log.open("wb") as output:
        result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"pip install failed (exit {result.returncode}); see {log}")
    stamp.write_text(json.dumps(wanted, indent=1) + "\n")


def package_files(package: Path) -> list[Path]:
    return sorted(path for path in package.rglob("*") if path.is_file() and not path.is_symlink())


def write_zip(package: Path, zip_path: Path) -> None:
    """A reproducible zip of ``package``: sorted entries, fixed timestamps, unix modes kept."""
    partial = zip_path.with_name(zip_path.name + ".part")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for path in package_files(package):
            info = zipfile.ZipInfo(path.relative_to(package).as_posix(), date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            mode = 0o755 if os.access(path, os.X_OK) else 0o644
            info.external_attr = (0o100000 | mode) << 16
            with path.open("rb") as source, archive.open(info, "w") as target:
                shutil.copyfileobj(source, target, 1 << 20)
    partial.replace(zip_path)


def build(root: Path = OUT, seed: int = SEED) -> BenchPackage:
    root.mkdir(parents=True, exist_ok=True)
    package = root / "package"
    install_dependencies(package, root / "pip.log")
    planted = write_team_code(package, seed)
    template = root / "template.yaml"
    template.write_text(_TEMPLATE)
    zip_path = root / "package.zip"
    write_zip(package, zip_path)
    files = package_files(package)
    return BenchPackage(
        root=root, package=package, zip_path=zip_path, template=template, planted=planted,
        files=len(files), bytes=sum(path.stat().st_size for path in files),
        team_files=sum(1 for path in files if path.relative_to(package).parts[0] == TEAM_PACKAGE),
        zip_bytes=zip_path.stat().st_size,
    )


def main() -> int:
    built = build()
    print(f"package: {built.package} ({built.files} files, {built.bytes / 1e6:.1f} MB, {built.team_files} of "
          f"them the team's); zip: {built.zip_path} ({built.zip_bytes / 1e6:.1f} MB); template: {built.template}")
    for secret in built.planted:
        lines = f"{secret.lines[0]}-{secret.lines[-1]}" if len(secret.lines) > 1 else str(secret.lines[0])
        print(f"  planted {secret.label}: {secret.path}:{lines}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
