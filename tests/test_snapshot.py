"""Inventory snapshots (model/snapshot.py): exact round trips, secrets never written, validation, merge, scanning.

Provider tokens are assembled from pieces so that secret scanners do not flag this file.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
from pathlib import Path
from typing import Any

import pytest

import lambdasec
from lambdasec.collectors.discovery import collect
from lambdasec.collectors.options import CollectOptions
from lambdasec.model.inventory import (
    CoverageGap,
    EnvVar,
    Function,
    Inventory,
    Parameter,
    PolicyDocument,
    PolicyStatement,
    RedactedSecret,
    Role,
    ScannedScope,
    Trail,
)
from lambdasec.model.location import Location, PropertyLocations
from lambdasec.model.snapshot import (
    FORMAT,
    REDACTED,
    SCHEMA_VERSION,
    SnapshotError,
    collect_snapshot,
    is_snapshot,
    load_snapshot,
    merge_snapshots,
    read_snapshot,
    redact_secrets,
    write_snapshot,
)
from lambdasec.model.values import ResourceRef, Unresolved

from .conftest import FIXTURE_CLOCK, FIXTURES

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"
REGION = "eu-west-1"
FN_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/orders"
AWS_KEY_ID = "AKIA" + "IOSFODNN7" + "EXAMPLE"  # AWS's documented example, in pieces
GITHUB = "gh" + "p_" + "A1b2C3d4" * 4 + "E5f6"
META = {"created": "2026-11-29T00:00:00+00:00", "accounts": [ACCOUNT], "regions": [REGION]}
FIXTURE_FILES = sorted(p for p in FIXTURES.iterdir() if ".fail." in p.name or ".pass." in p.name)


def _live_inventory(**environment: str) -> Inventory:
    inventory = Inventory(own_accounts={ACCOUNT})
    where = Location(arn=FN_ARN, region=REGION)
    inventory.add(inventory.roles, Role(
        key=ROLE_ARN, id=ROLE_ARN, type="AWS::IAM::Role", location=Location(arn=ROLE_ARN), name="orders",
        trust_policy=PolicyDocument([PolicyStatement(
            "Allow", ["sts:AssumeRole"], principals={"Service": ["lambda.amazonaws.com"]},
            conditions={"StringEquals": {"aws:SourceAccount": ACCOUNT}})]),
    ))
    inventory.add(inventory.functions, Function(
        key=FN_ARN, id=FN_ARN, type="AWS::Lambda::Function", location=where, name="orders", runtime="python3.12",
        handler="app.handler", role=ResourceRef(ROLE_ARN, "Arn"), version="$LATEST",
        code_sha256="n0vTj5Dk2bXz0t8yqkV7nq3dYVQk2lJ8m0l3Z1c2b3A=",
        environment={name: EnvVar(name, value, where) for name, value in environment.items()},
        layers=[f"arn:aws:lambda:{REGION}:999999999999:layer:x:3"],
        reserved_concurrency=Unresolved("!Ref Concurrency", "parameter without default"),
    ))
    inventory.scopes.append(ScannedScope(ACCOUNT, REGION, ["lambda", "iam"]))
    inventory.coverage_gaps.append(CoverageGap("access-denied", "kms:ListKeys denied", Location(region=REGION)))
    inventory.aliases[f"{FN_ARN}:live"] = ResourceRef(FN_ARN)
    return inventory


def _document(path: Path) -> dict[str, Any]:
    raw = path.read_bytes()
    return json.loads(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)


# ---------------------------------------------------------------- round trips
@pytest.mark.parametrize("path", FIXTURE_FILES, ids=lambda p: p.name)
def test_every_rule_fixture_round_trips_exactly(path: Path, tmp_path: Path) -> None:
    inventory, _ = collect([path], CollectOptions())
    target = tmp_path / "inventory.json.gz"
    write_snapshot(inventory, target, meta=META)
    assert read_snapshot(target) == redact_secrets(inventory)


def test_fixture_inventories_without_secrets_are_kept_unchanged() -> None:
    """redact_secrets only touches functions holding a secret: the round trip above is exact for the others."""
    for name in ("EXP001.fail.yaml", "IAM001.fail.tf", "NET001.fail.serverless.yml", "EXP001.pass.tfplan.json"):
        inventory, _ = collect([FIXTURES / name], CollectOptions())
        assert redact_secrets(inventory) is inventory


def test_live_inventory_round_trips_with_every_value_kind(tmp_path: Path) -> None:
    inventory = _live_inventory(STAGE="prod")
    for name in ("snapshot.json", "snapshot.json.gz"):
        write_snapshot(inventory, tmp_path / name, meta=META)
        back = read_snapshot(tmp_path / name)
        assert back == inventory
        fn = back.functions[0]
        assert fn.role == ResourceRef(ROLE_ARN, "Arn")
        assert fn.reserved_concurrency == Unresolved("!Ref Concurrency", "parameter without default")
        assert back.get(ROLE_ARN) is back.roles[0]  # the index is rebuilt
        assert back.role_of(fn) is back.roles[0]
        assert back.scopes == [ScannedScope(ACCOUNT, REGION, ["lambda", "iam"])]
        assert back.own_accounts == {ACCOUNT}
        assert back.aliases == {f"{FN_ARN}:live": ResourceRef(FN_ARN)}


def test_signing_jobs_and_tag_exclusions_round_trip(tmp_path: Path) -> None:
    """The fields INT016 and INT017 read (added without a schema change: docs/snapshot.md, Versioning)."""
    from lambdasec.model.inventory import EcrRepository, SigningJob

    inventory = _live_inventory()
    job = f"arn:aws:signer:{REGION}:{ACCOUNT}:/signing-jobs/0f1e2d3c"
    inventory.functions[0].signing_job = job
    inventory.add(inventory.signing_jobs, SigningJob(
        key=job, id=job, type="AWS::Signer::SigningJob", location=Location(arn=job, region=REGION),
        status="Succeeded", profile_name="release", revoked=True, revoked_at="2026-10-02T08:30:00+00:00",
        signature_expires_at="2037-03-01T00:00:00+00:00"))
    repository = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/web"
    inventory.add(inventory.ecr_repositories, EcrRepository(
        key=repository, id=repository, type="AWS::ECR::Repository", location=Location(arn=repository),
        name="web", tag_mutability="IMMUTABLE_WITH_EXCLUSION", tag_mutability_exclusions=["dev-*"]))
    write_snapshot(inventory, tmp_path / "s.json", meta=META)
    assert read_snapshot(tmp_path / "s.json") == inventory
    body = _document(tmp_path / "s.json")["inventory"]
    assert body["functions"][0]["signing_job"] == job
    assert body["signing_jobs"][0]["revoked"] is True and "revocation_reason" not in body["signing_jobs"][0]
    assert body["ecr_repositories"][0]["tag_mutability_exclusions"] == ["dev-*"]
    # a snapshot written before these fields reads as "not signed" and "filters not known"
    del body["functions"][0]["signing_job"], body["signing_jobs"], body["ecr_repositories"][0][
        "tag_mutability_exclusions"]
    (tmp_path / "old.json").write_text(json.dumps({**_document(tmp_path / "s.json"), "inventory": body}))
    old = read_snapshot(tmp_path / "old.json")
    assert old.functions[0].signing_job is None and old.signing_jobs == []
    assert old.ecr_repositories[0].tag_mutability_exclusions is None


def test_document_layout(tmp_path: Path) -> None:
    target = tmp_path / "snapshot.json"
    write_snapshot(_live_inventory(), target, meta={**META, "stats": {"calls": 12}})
    document = _document(target)
    assert list(document)[:2] == ["format", "schema_version"]
    assert document["format"] == FORMAT == "lambdasec-snapshot"
    assert document["schema_version"] == SCHEMA_VERSION == 1
    assert document["created"] == "2026-11-29T00:00:00+00:00"
    assert document["tool_version"] == lambdasec.__version__
    assert document["meta"] == {"accounts": [ACCOUNT], "regions": [REGION], "stats": {"calls": 12}}
    body = document["inventory"]
    assert set(body) >= {"functions", "roles", "ecr_repositories", "signing_profiles", "signing_jobs",
                         "coverage_gaps", "scopes", "own_accounts", "aliases"}
    fn = body["functions"][0]
    # Values: strings stay strings, references and unresolved values are tagged; defaults are left out.
    assert fn["role"] == {"$ref": ROLE_ARN, "attribute": "Arn"}
    assert fn["layers"] == [f"arn:aws:lambda:{REGION}:999999999999:layer:x:3"]
    assert fn["reserved_concurrency"] == {"$unresolved": "!Ref Concurrency", "reason": "parameter without default"}
    assert fn["location"] == {"arn": FN_ARN, "region": REGION}
    assert "package_type" not in fn and "property_locations" not in fn and "environment" not in fn
    assert body["roles"][0]["trust_policy"]["statements"][0]["conditions"] == {
        "StringEquals": {"aws:SourceAccount": ACCOUNT}}
    assert body["scopes"] == [{"account": ACCOUNT, "region": REGION, "complete": ["lambda", "iam"]}]
    assert body["own_accounts"] == [ACCOUNT]
    assert body["aliases"] == {f"{FN_ARN}:live": {"$ref": FN_ARN, "attribute": None}}


def test_created_defaults_to_now_and_accepts_a_datetime(tmp_path: Path) -> None:
    write_snapshot(Inventory(), tmp_path / "a.json", meta={"created": FIXTURE_CLOCK})
    assert load_snapshot(tmp_path / "a.json").created == "2026-11-29T00:00:00+00:00"
    before = dt.datetime.now(dt.timezone.utc)
    write_snapshot(Inventory(), tmp_path / "b.json", meta={})
    assert dt.datetime.fromisoformat(load_snapshot(tmp_path / "b.json").created) >= before.replace(microsecond=0)


def test_same_inventory_gives_the_same_bytes(tmp_path: Path) -> None:
    write_snapshot(_live_inventory(), tmp_path / "a.json.gz", meta=META)
    write_snapshot(_live_inventory(), tmp_path / "b.json.gz", meta=META)
    assert (tmp_path / "a.json.gz").read_bytes() == (tmp_path / "b.json.gz").read_bytes()
    assert (tmp_path / "a.json.gz").read_bytes()[:2] == b"\x1f\x8b"


def test_property_locations_are_a_plain_object(tmp_path: Path) -> None:
    inventory = _live_inventory()
    located = PropertyLocations("template.yaml", ("Resources", "Fn", "Properties"))
    located.add(("Runtime",), 7)
    located.add(("Environment", "Variables", "a.b"), 9)
    inventory.functions[0].property_locations = located
    write_snapshot(inventory, tmp_path / "s.json", meta=META)
    written = _document(tmp_path / "s.json")["inventory"]["functions"][0]["property_locations"]
    assert written == {
        "Runtime": {"file": "template.yaml", "line": 7, "path": ["Resources", "Fn", "Properties", "Runtime"]},
        "Environment.Variables.a.b": {"file": "template.yaml", "line": 9,
                                      "path": ["Resources", "Fn", "Properties", "Environment", "Variables", "a.b"]},
    }
    assert read_snapshot(tmp_path / "s.json") == inventory


def test_free_form_values_keep_tuples_and_dollar_keys(tmp_path: Path) -> None:
    inventory = _live_inventory()
    trail_arn = f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/main"
    selectors = [{"FieldSelectors": [{"Field": "eventCategory", "Equals": ("Data",)}], "$odd": 1,
                  "Unknown": Unresolved("!If [C, a, b]")}]
    inventory.add(inventory.trails, Trail(key=trail_arn, id=trail_arn, type="AWS::CloudTrail::Trail",
                                          location=Location(arn=trail_arn), advanced_event_selectors=selectors))
    write_snapshot(inventory, tmp_path / "s.json", meta=META)
    assert read_snapshot(tmp_path / "s.json").trails[0].advanced_event_selectors == selectors


# ---------------------------------------------------------------- secrets
def test_planted_secrets_never_reach_the_file(tmp_path: Path) -> None:
    inventory = _live_inventory(AWS_ACCESS_KEY_ID=AWS_KEY_ID, GITHUB_TOKEN=GITHUB, DB_PASSWORD="Tr0ub4dor-and-3-horses",
                                STAGE="prod")
    for name in ("s.json", "s.json.gz"):
        write_snapshot(inventory, tmp_path / name, meta=META)
        raw = (tmp_path / name).read_bytes()
        text = gzip.decompress(raw) if name.endswith(".gz") else raw
        for secret in (AWS_KEY_ID, GITHUB, "Tr0ub4dor-and-3-horses", "Tr0ub4dor"):
            assert secret.encode() not in text
        assert b"prod" in text
    environment = _document(tmp_path / "s.json")["inventory"]["functions"][0]["environment"]
    assert environment["AWS_ACCESS_KEY_ID"]["value"] == {
        "$secret": {"kind": "aws-access-key-id", "preview": "AK****LE", "confidence": "high"}}
    assert environment["DB_PASSWORD"]["value"] == {
        "$secret": {"kind": "password", "preview": "Tr****es", "confidence": "medium"}}
    assert environment["STAGE"]["value"] == "prod"
    assert "secret" not in environment["AWS_ACCESS_KEY_ID"]
    # The caller's inventory is not modified.
    assert inventory.functions[0].environment["AWS_ACCESS_KEY_ID"].value == AWS_KEY_ID


def test_redacted_variable_reads_back_as_unresolved_with_the_verdict(tmp_path: Path) -> None:
    write_snapshot(_live_inventory(AWS_ACCESS_KEY_ID=AWS_KEY_ID), tmp_path / "s.json.gz", meta=META)
    var = read_snapshot(tmp_path / "s.json.gz").functions[0].environment["AWS_ACCESS_KEY_ID"]
    assert var.value == REDACTED == Unresolved("<redacted>", "secret value not kept in snapshots")
    assert var.secret == RedactedSecret("aws-access-key-id", "AK****LE", "high")
    # Written again, a snapshot of a snapshot is the same.
    write_snapshot(read_snapshot(tmp_path / "s.json.gz"), tmp_path / "again.json.gz", meta=META)
    assert (tmp_path / "again.json.gz").read_bytes() == (tmp_path / "s.json.gz").read_bytes()


def test_scanning_a_snapshot_still_reports_sec001_with_the_preview(tmp_path: Path) -> None:
    inventory = _live_inventory(AWS_ACCESS_KEY_ID=AWS_KEY_ID, STAGE="prod")
    write_snapshot(inventory, tmp_path / "live.json.gz", meta=META)
    report = lambdasec.scan_paths([tmp_path / "live.json.gz"], rules=["SEC001"], now=FIXTURE_CLOCK)
    assert [g.message for g in report.coverage_gaps] == ["kms:ListKeys denied"]  # the live scan's gap is kept
    assert [(f.rule_id, f.resource_id, f.message, f.evidence, f.confidence.label) for f in report.findings] == [
        ("SEC001", FN_ARN, "Environment variable AWS_ACCESS_KEY_ID holds a plaintext AWS access key ID (AK****LE)",
         {"kind": "aws-access-key-id", "variable": "AWS_ACCESS_KEY_ID", "preview": "AK****LE"}, "high"),
    ]


def test_sec001_and_sec002_findings_survive_a_snapshot_of_their_fixtures(tmp_path: Path) -> None:
    names = ("SEC001.fail.yaml", "SEC001.fail.tf", "SEC002.fail.yaml", "SEC002.fail.tf", "SEC002.fail.serverless.yml")
    for name in names:
        code = name.split(".")[0]
        direct = lambdasec.scan_paths([FIXTURES / name], rules=[code], now=FIXTURE_CLOCK)
        inventory, _ = collect([FIXTURES / name], CollectOptions())
        target = tmp_path / f"{name}.json.gz"
        write_snapshot(inventory, target, meta=META)
        again = lambdasec.scan_paths([target], rules=[code], now=FIXTURE_CLOCK)
        assert again.coverage_gaps == []
        assert [(f.resource_key, f.message, f.evidence, f.confidence, f.fingerprint) for f in again.findings] == [
            (f.resource_key, f.message, f.evidence, f.confidence, f.fingerprint) for f in direct.findings], name
        assert direct.findings, name


def test_parameter_defaults_sec002_reports_are_redacted(tmp_path: Path) -> None:
    where = Location(arn=FN_ARN, region=REGION)
    inventory = _live_inventory()
    password = Parameter("DbPassword", no_echo=True, default="hunter2-is-weak", has_default=True)
    opaque = Parameter("Opaque", no_echo=True, default="plain-value-1", has_default=True)
    stage = Parameter("Stage", default="prod", has_default=True)
    inventory.functions[0].environment = {
        "DB": EnvVar("DB", "hunter2-is-weak", where, parameter=password),
        "CONF": EnvVar("CONF", Unresolved("!Ref Opaque"), where, parameter=opaque),
        "STAGE": EnvVar("STAGE", "prod", where, parameter=stage),
    }
    write_snapshot(inventory, tmp_path / "s.json", meta=META)
    assert b"hunter2" not in (tmp_path / "s.json").read_bytes()
    assert b"plain-value" not in (tmp_path / "s.json").read_bytes()
    back = read_snapshot(tmp_path / "s.json").functions[0].environment
    # Judged as SEC002 judges it: by the parameter's and the variables' names, or NoEcho alone.
    assert back["DB"].value == REDACTED
    assert back["DB"].parameter == Parameter("DbPassword", no_echo=True, has_default=True,
                                             default=RedactedSecret("password", "hu****ak", "medium"))
    assert back["CONF"].value == Unresolved("!Ref Opaque")
    assert back["CONF"].parameter == Parameter("Opaque", no_echo=True, has_default=True,
                                               default=RedactedSecret("secret", "pl****-1", "high"))
    assert back["STAGE"] == inventory.functions[0].environment["STAGE"]


# ---------------------------------------------------------------- validation
@pytest.mark.parametrize(("content", "message"), [
    (b"{not json", "invalid JSON"),
    (b"[]", 'not a lambdasec snapshot ("format": "lambdasec-snapshot" is missing)'),
    (b'{"format": "something-else"}', "not a lambdasec snapshot"),
    (b'{"format": "lambdasec-snapshot", "schema_version": 2, "inventory": {}}',
     "unsupported schema_version 2 (this lambdasec reads 1)"),
    (b'{"format": "lambdasec-snapshot", "schema_version": true, "inventory": {}}', "unsupported schema_version True"),
    (b'{"format": "lambdasec-snapshot", "schema_version": 1}', "'inventory' must be an object"),
    (b'{"format": "lambdasec-snapshot", "schema_version": 1, "inventory": {"lambdas": []}}',
     "inventory: unknown field(s) lambdas"),
    (b'{"format": "lambdasec-snapshot", "schema_version": 1, "inventory": {"functions": [{"id": "x"}]}}',
     "inventory.functions[0]: Function needs key"),
    (b'{"format": "lambdasec-snapshot", "schema_version": 1, "inventory": {"functions": {}}}',
     "inventory.functions: a list expected"),
    (b'{"format": "lambdasec-snapshot", "schema_version": 1, "inventory": {"functions": [{"key": "k", "id": "k",'
     b' "type": "t", "location": {}, "color": 1}]}}', "unknown field(s) color for Function"),
    (b'{"format": "lambdasec-snapshot", "schema_version": 1, "inventory": {"functions": [{"key": "k", "id": "k",'
     b' "type": "t", "location": {}, "role": {"$ref": 3}}]}}', "inventory.functions[0].role: a reference is"),
    (b'{"format": "lambdasec-snapshot", "schema_version": 1, "inventory": {"functions": [{"key": "k", "id": "k",'
     b' "type": "t", "location": {}, "role": {"$secret": {"kind": "x"}}}]}}', "a redacted secret is"),
    (b"\xff\xfe", "not UTF-8 text"),
    (b"\x1f\x8b\x08\x00broken", "not a valid gzip file"),
])
def test_unreadable_snapshots_raise_a_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    target = tmp_path / "bad.json"
    target.write_bytes(content)
    with pytest.raises(SnapshotError) as raised:
        read_snapshot(target)
    assert str(raised.value).startswith(f"{target}: ")
    assert message in str(raised.value)


def test_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="cannot read"):
        read_snapshot(tmp_path / "absent.json.gz")


def test_a_broken_snapshot_is_a_coverage_gap_when_scanned(tmp_path: Path) -> None:
    target = tmp_path / "live.json.gz"
    target.write_bytes(gzip.compress(b'{"format": "lambdasec-snapshot", "schema_version": 9, "inventory": {}}'))
    assert collect_snapshot(target, tmp_path).coverage_gaps == [CoverageGap(
        "parse-error", "snapshot not read: unsupported schema_version 9 (this lambdasec reads 1)",
        Location("live.json.gz"))]
    report = lambdasec.scan_paths([target], now=FIXTURE_CLOCK)
    assert [(g.kind, g.location.file) for g in report.coverage_gaps] == [("parse-error", "live.json.gz")]
    assert report.incomplete


def test_cli_exit_code_is_3_for_a_broken_snapshot(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lambdasec.cli import main

    target = tmp_path / "broken.snapshot.json"
    target.write_text("{truncated", encoding="utf-8")
    result = CliRunner().invoke(main, ["scan", str(target), "-q"])
    assert result.exit_code == 3


# ---------------------------------------------------------------- discovery
def test_snapshots_are_recognised_by_name_and_content(tmp_path: Path) -> None:
    write_snapshot(_live_inventory(), tmp_path / "live.json.gz", meta=META)
    write_snapshot(_live_inventory(), tmp_path / "renamed.json", meta=META)
    (tmp_path / "other.json.gz").write_bytes(gzip.compress(b'{"Records": []}'))
    (tmp_path / "template.json").write_text('{"Resources": {}}', encoding="utf-8")
    assert is_snapshot(tmp_path / "live.json.gz") and is_snapshot(tmp_path / "renamed.json")
    assert not is_snapshot(tmp_path / "other.json.gz") and not is_snapshot(tmp_path / "template.json")
    inventory, scanned = collect([tmp_path], CollectOptions())
    assert sorted(scanned) == ["live.json.gz", "renamed.json"]  # the other gzipped JSON is not ours: skipped
    assert [fn.key for fn in inventory.functions] == [FN_ARN, FN_ARN]


# ---------------------------------------------------------------- merge
def _shard(tmp_path: Path, name: str, inventory: Inventory, regions: list[str]) -> Path:
    target = tmp_path / name
    write_snapshot(inventory, target, meta={"created": "2026-11-29T00:00:00+00:00", "accounts": [ACCOUNT],
                                            "regions": regions, "stats": {"calls": 3}})
    return target


def test_merge_unites_shards_and_keeps_identical_duplicates_once(tmp_path: Path) -> None:
    first = _live_inventory()
    second = _live_inventory()
    other_arn = FN_ARN.replace(REGION, "us-east-1")
    second.functions[0] = Function(key=other_arn, id=other_arn, type="AWS::Lambda::Function",
                                   location=Location(arn=other_arn, region="us-east-1"))
    second.scopes = [ScannedScope(ACCOUNT, "us-east-1", ["lambda"])]
    second.coverage_gaps.append(CoverageGap("throttled", "lambda:GetPolicy throttled", Location(region="us-east-1")))
    a = _shard(tmp_path, "a.json.gz", first, [REGION])
    b = _shard(tmp_path, "b.json.gz", second, ["us-east-1"])
    merged, meta = merge_snapshots([a, b])
    assert [fn.key for fn in merged.functions] == [FN_ARN, other_arn]
    assert [role.key for role in merged.roles] == [ROLE_ARN]  # in both shards, identical: kept once, silently
    assert merged.scopes == [ScannedScope(ACCOUNT, REGION, ["lambda", "iam"]),
                             ScannedScope(ACCOUNT, "us-east-1", ["iam", "lambda"])]  # IAM is account-wide
    assert [g.message for g in merged.coverage_gaps] == ["kms:ListKeys denied", "lambda:GetPolicy throttled"]
    assert merged.own_accounts == {ACCOUNT}
    assert merged.get(other_arn) is merged.functions[1]
    assert meta["accounts"] == [ACCOUNT] and meta["regions"] == ["eu-west-1", "us-east-1"]
    assert [source["path"] for source in meta["merged_from"]] == [str(a), str(b)]
    assert meta["merged_from"][0]["meta"]["stats"] == {"calls": 3}
    # The merged inventory is a snapshot like any other.
    write_snapshot(merged, tmp_path / "all.json.gz", meta={"created": "2026-11-29T00:00:00+00:00", **meta})
    assert read_snapshot(tmp_path / "all.json.gz") == merged


def test_merge_reports_differing_duplicates_as_gaps(tmp_path: Path) -> None:
    first = _live_inventory()
    second = _live_inventory()
    second.roles[0].name = "renamed"
    second.scopes = [ScannedScope(ACCOUNT, REGION, ["lambda"])]
    a = _shard(tmp_path, "a.json", first, [REGION])
    b = _shard(tmp_path, "b.json", second, [REGION])
    merged, _ = merge_snapshots([a, b])
    assert merged.roles[0].name == "orders"
    assert merged.scopes == [ScannedScope(ACCOUNT, REGION, ["lambda", "iam"])]
    conflicts = [g for g in merged.coverage_gaps if g.kind == "snapshot-conflict"]
    assert [g.message for g in conflicts] == [
        f"Role {ROLE_ARN} differs between {a} and {b}: the copy of {a} is kept",
        f"scope {ACCOUNT}/{REGION} differs between {a} and {b}: the copy of {a} is kept",
    ]
    assert all(g.location == Location(str(b)) for g in conflicts)


def test_merge_of_an_unreadable_file_raises(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text("{}", encoding="utf-8")
    with pytest.raises(SnapshotError, match="not a lambdasec snapshot"):
        merge_snapshots([tmp_path / "bad.json"])


# ---------------------------------------------------------------- documentation
def test_docs_describe_the_current_model() -> None:
    from lambdasec.model.inventory import _BUCKETS
    from lambdasec.model.snapshot import field_reference

    from .conftest import REPO

    page = (REPO / "docs" / "snapshot.md").read_text(encoding="utf-8")
    heading = page.index("## Objects\n")
    assert page[heading:].endswith("Every object of a snapshot is one of these classes.\n\n" + field_reference())
    assert all(f"`{bucket}`" in page for bucket in _BUCKETS)


def test_merge_makes_iam_completeness_account_wide(tmp_path: Path) -> None:
    """The shard owning an account's first region reads IAM for the whole account; the others cannot list it."""
    first, second = Inventory(), Inventory()
    first.scopes = [ScannedScope(ACCOUNT, "eu-west-1", ["cloudtrail", "iam", "lambda"]),
                    ScannedScope(OTHER_ACCOUNT, "eu-west-1", ["lambda"])]
    second.scopes = [ScannedScope(ACCOUNT, "us-east-1", ["lambda"]),
                     ScannedScope(OTHER_ACCOUNT, "us-east-1", ["lambda"])]
    merged, _ = merge_snapshots([_shard(tmp_path, "a.json", first, ["eu-west-1"]),
                                 _shard(tmp_path, "b.json", second, ["us-east-1"])])
    assert merged.scopes == [
        ScannedScope(ACCOUNT, "eu-west-1", ["cloudtrail", "iam", "lambda"]),
        ScannedScope(OTHER_ACCOUNT, "eu-west-1", ["lambda"]),
        ScannedScope(ACCOUNT, "us-east-1", ["iam", "lambda"]),
        ScannedScope(OTHER_ACCOUNT, "us-east-1", ["lambda"]),
    ]


def test_a_gzip_bomb_named_like_a_snapshot_is_refused_without_inflating_it(tmp_path: Path) -> None:
    import gzip

    from lambdasec.model.snapshot import SnapshotError, _gunzip

    packed = gzip.compress(b"{" + b" " * (8 << 20) + b"}")  # 8 MiB of blanks in a few KiB
    assert len(packed) < 64 << 10
    with pytest.raises(SnapshotError, match=r"bomb.snapshot.json.gz: decompresses to more than 2 MiB"):
        _gunzip(packed, "bomb.snapshot.json.gz", limit=2 << 20)
    assert _gunzip(gzip.compress(b"{}"), "small.json.gz") == b"{}"
