"""The Spark engine gives exactly DuckDB's tables, alerts and malformed counts, and reads S3-style URIs itself.

One Spark session for the module (starting the JVM dominates the time); each test has its own engine (its own
temporary views, through ``SparkSession.newSession``).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

if shutil.which("java") is None:
    pytest.skip("the Spark engine needs Java (no java on PATH)", allow_module_level=True)
pytest.importorskip("pyspark", reason="the Spark engine needs pyspark (pip install 'lambdasec[spark]')")
pytest.importorskip("sqlglot", reason="the Spark engine needs sqlglot (pip install 'lambdasec[spark]')")
pytest.importorskip("duckdb", reason="the Spark engine is compared with the DuckDB engine")

from lambdasec.detections.catalogue import all_detections  # noqa: E402
from lambdasec.detections.context import DetectContext, load_context  # noqa: E402
from lambdasec.detections.engines import DuckDBEngine, Engine  # noqa: E402
from lambdasec.detections.runner import DetectSettings, detect  # noqa: E402
from lambdasec.detections.spark_engine import (  # noqa: E402
    SparkEngine,
    detect_remote,
    is_remote,
    load_remote_cloudtrail,
)

from .test_inputs import athena_row  # noqa: E402

FIXTURES = Path(__file__).parents[2] / "src" / "lambdasec" / "detections" / "fixtures"
TABLES = ("events", "dns", "flows", "findings")
SUBNET = "subnet-0a1b2c3d4e5f60718"


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)  # workers of this interpreter (its minor version)
    session = (SparkSession.builder.master("local[2]").appName("lambdasec-tests")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.log.level", "ERROR").config("spark.sql.session.timeZone", "UTC")
               .config("spark.sql.shuffle.partitions", "4").getOrCreate())
    yield session
    session.stop()


@pytest.fixture
def engines(spark: Any) -> Iterator[tuple[DuckDBEngine, SparkEngine]]:
    duck, sparked = DuckDBEngine(), SparkEngine(session=spark)
    yield duck, sparked
    duck.close()
    sparked.close()


def findings(report: Any) -> list[tuple[Any, ...]]:
    """The alerts, in a fixed order (the runner's order leaves ties, alerts on one event from two files, in the
    engine's row order)."""
    return sorted(((f.rule_id, f.severity, f.evidence, f.message, f.location.file) for f in report.findings),
                  key=repr)


def gaps(report: Any) -> list[tuple[str, str, str]]:
    return [(g.kind, g.message, g.location.file) for g in report.coverage_gaps]


def columns(engine: Engine, table: str) -> list[str]:
    if isinstance(engine, DuckDBEngine):
        return [d[0] for d in engine.con.execute(f"SELECT * FROM {table} LIMIT 0").description]
    assert isinstance(engine, SparkEngine)
    return list(engine.spark.table(table).columns)


def table(engine: Engine, name: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """The table's columns but raw, and its rows in a fixed order."""
    names = [c for c in columns(engine, name) if c != "raw"]
    quote = "`" if isinstance(engine, SparkEngine) else '"'
    rows = engine.rows(f"SELECT {', '.join(quote + c + quote for c in names)} FROM {name}")
    return names, sorted(rows, key=repr)


def context() -> DetectContext:
    """The fixtures' context, plus a trusted deployer and the subnet of two VPC functions."""
    found = load_context(threat_files=[FIXTURES / "threat_ips.txt"],
                         deployers=["arn:aws:iam::111122223333:role/ci-*"])
    found.function_subnets += [("orders", SUBNET), ("billing", SUBNET)]
    return found


def _records(path: Path) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8")))


def build_inputs(root: Path) -> list[Path]:
    """Every fixture file, plus the same records in the other layouts each engine reads differently: gzip'd
    without a telling name, JSON lines, CloudTrail Lake rows, S3 export documents, a custom flow-log format with
    its header, camelCase GuardDuty findings, a path with a space."""
    logs = root / "logs dir"
    logs.mkdir()
    for fixture in sorted(FIXTURES.glob("DET*")):
        shutil.copy(fixture, logs / fixture.name)
    trail = _records(FIXTURES / "DET001.fire.json") + _records(FIXTURES / "DET020.fire.json")
    (logs / "trail-lines.jsonl").write_text("".join(json.dumps(r) + "\n" for r in trail), encoding="utf-8")
    (logs / "trail-document-gzip").write_bytes(gzip.compress(json.dumps({"Records": trail}).encode()))
    (logs / "trail-lines-gzip").write_bytes(gzip.compress("".join(json.dumps(r) + "\n" for r in trail).encode()))
    lake = _records(FIXTURES / "DET040.fire.json")
    (logs / "lake.jsonl.gz").write_bytes(gzip.compress("".join(
        json.dumps({"eventJson": json.dumps(r), "eventSource": r["eventSource"]}) + "\n" for r in lake).encode()))
    (logs / "_underscored.json").write_text(json.dumps({"Records": _records(FIXTURES / "DET002.fire.json")}),
                                            encoding="utf-8")
    (logs / "_underscored[1].jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in _records(FIXTURES / "DET006.fire.json")), encoding="utf-8")
    camel = [_camel(f) for f in _records(FIXTURES / "DET033.fire.findings.json")]
    (logs / "findings-camel.jsonl").write_text("".join(json.dumps(f) + "\n" for f in camel), encoding="utf-8")
    (logs / "flows-custom.log.gz").write_bytes(gzip.compress(_custom_flows().encode()))
    offset = [{**r, "eventID": f"offset-{r['eventID']}", "eventTime": r["eventTime"].replace("Z", "+02:00")}
              for r in _records(FIXTURES / "DET003.fire.json")]  # the same instants on both engines: UTC
    athena = [athena_row(r) for r in _records(FIXTURES / "DET012.fire.json") + _records(FIXTURES / "DET041.fire.json")]
    (logs / "athena-unload.jsonl").write_text("".join(json.dumps(r) + "\n" for r in athena), encoding="utf-8")
    (logs / "trail-offsets.jsonl").write_text("".join(json.dumps(r) + "\n" for r in offset), encoding="utf-8")
    return [logs]


def _camel(value: Any) -> Any:
    if isinstance(value, dict):
        return {key[:1].lower() + key[1:]: _camel(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_camel(item) for item in value]
    return value


def _custom_flows() -> str:
    """The DET031 and DET032 flows in a custom format with subnet ids (half of them a function's subnet)."""
    header = ("version vpc-id subnet-id instance-id interface-id account-id srcaddr dstaddr srcport dstport "
              "protocol packets bytes start end action log-status")
    lines = [header]
    for name in ("DET031.fire.flows.log", "DET032.fire.flows.log"):
        for index, line in enumerate((FIXTURES / name).read_text(encoding="utf-8").splitlines()):
            f = line.split()
            if len(f) != 14:
                continue
            subnet = SUBNET if index % 2 == 0 else "subnet-0ffffffffffffffff"
            lines.append(" ".join([f[0], "vpc-0a1b2c3d4e5f60718", subnet, "-", f[2], f[1], *f[3:]]))
    return "\n".join(lines) + "\n\n"


def test_every_detection_and_table_is_the_same_on_both_engines(
        engines: tuple[DuckDBEngine, SparkEngine], tmp_path: Path) -> None:
    duck, sparked = engines
    paths = build_inputs(tmp_path)
    settings = DetectSettings(context=context())
    by_duckdb = detect(paths, settings, engine=duck)
    by_spark = detect(paths, settings, engine=sparked)

    assert {f.rule_id for f in by_duckdb.findings} == {d.code for d in all_detections()}
    assert findings(by_spark) == findings(by_duckdb)
    assert gaps(by_spark) == gaps(by_duckdb) == []
    assert by_spark.scanned_files == by_duckdb.scanned_files
    # the paths reported (relative to the folder given), not the URIs or links Spark read
    assert {f.location.file for f in by_spark.findings} <= {p.name for p in paths[0].iterdir()}
    for name in TABLES:
        names, rows = table(duck, name)
        assert table(sparked, name) == (names, rows), name
        assert rows, name
    names, rows = table(duck, "events")
    times = [row[names.index("event_time")] for row in rows]
    assert times and all(t.tzinfo is None for t in times)  # TIMESTAMP in UTC, without zone, on both


def test_malformed_records_are_counted_the_same(engines: tuple[DuckDBEngine, SparkEngine], tmp_path: Path) -> None:
    good = _records(FIXTURES / "DET001.fire.json")[0]
    no_time = {k: v for k, v in good.items() if k != "eventTime"}
    trail = tmp_path / "trail.jsonl"
    trail.write_text("\n".join([
        json.dumps(good), "", '{"eventName": "UpdateFunctionCode20150331v2", "eventTime": ', "[1, 2]", "   ",
        json.dumps(no_time), json.dumps(good) + " trailing", json.dumps(good) + json.dumps(good), '"text"',
        json.dumps({**good, "eventID": "second"}) + "\r",
    ]) + "\n", encoding="utf-8")
    dns = tmp_path / "dns.jsonl"
    line = (FIXTURES / "DET030.fire.dns.jsonl").read_text(encoding="utf-8").splitlines()[0]
    dns.write_text("\ufeff" + line + "\n" + json.dumps({"query_name": "x.example."}) + "\nnull\n", encoding="utf-8")
    flows = tmp_path / "flows.log"
    flows.write_text((FIXTURES / "DET031.fire.flows.log").read_text(encoding="utf-8")
                     + "2 111122223333 eni-1 10.0.0.1\n2 111122223333 eni-1 - - - - - - - x 1 - OK\n\t\n",
                     encoding="utf-8")
    document = tmp_path / "document.json"
    document.write_text(json.dumps([good, 42, no_time]), encoding="utf-8")
    paths = [trail, dns, flows, document]
    duck, sparked = engines
    settings = DetectSettings(detections=("DET001", "DET030", "DET031"))  # fewer queries: faster
    by_duckdb = detect(paths, settings, engine=duck)
    by_spark = detect(paths, settings, engine=sparked)

    assert gaps(by_spark) == gaps(by_duckdb)
    messages = " | ".join(g[1] for g in gaps(by_duckdb))
    assert f"{trail}: 6 of 8 cloudtrail records are malformed" in messages  # blank lines are none
    assert f"{document}: 1 of 2 cloudtrail records are malformed" in messages
    assert f"{dns}: 2 of 3 dns records are malformed" in messages
    assert f"{flows}: 3 of 9 flows records are malformed" in messages  # a line of a tab is a record
    assert findings(by_spark) == findings(by_duckdb)
    for name in TABLES:
        assert table(sparked, name) == table(duck, name), name


def test_remote_cloudtrail_documents_are_read_by_spark(spark: Any, engines: tuple[DuckDBEngine, SparkEngine],
                                                       tmp_path: Path) -> None:
    records = _records(FIXTURES / "DET001.fire.json")
    folder = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail" / "us-east-1" / "2026" / "03" / "01"
    folder.mkdir(parents=True)
    export = folder / "111122223333_CloudTrail_us-east-1_20260301T1000Z_abc.json.gz"
    export.write_bytes(gzip.compress(json.dumps({"Records": [*records, 7]}).encode()))
    digest = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail-Digest" / "digest.json.gz"
    digest.parent.mkdir(parents=True)
    digest.write_bytes(gzip.compress(b'{"awsAccountId": "111122223333", "digestStartTime": "x"}'))
    broken = folder / "111122223333_CloudTrail_us-east-1_20260301T1005Z_def.json.gz"
    broken.write_bytes(gzip.compress(json.dumps({"Records": records}).encode()[:500]))
    duck, sparked = engines
    uri, missing = (tmp_path / "AWSLogs").as_uri() + "/", (tmp_path / "missing").as_uri()
    assert is_remote(uri) and is_remote("s3a://bucket/AWSLogs/") and not is_remote(str(export))

    loaded = load_remote_cloudtrail(sparked, [uri, missing])
    assert loaded.files == sorted(p.as_uri() for p in (export, digest, broken))
    assert sorted((g.kind, g.location.file) for g in loaded.gaps) == sorted(
        [("unreadable-log", broken.as_uri()), ("unreadable-log", missing)])
    sparked.build("cloudtrail")
    assert sparked.rows("SELECT count(*) FROM events")[0][0] == len(records)
    assert sparked.malformed("cloudtrail") == [(export.as_uri(), len(records) + 1, 1)]

    remote = SparkEngine(session=spark)
    try:
        report = detect_remote([], [uri], DetectSettings(detections=("DET001",)), engine=remote)
    finally:
        remote.close()
    local = detect([export], DetectSettings(detections=("DET001",)), engine=duck)
    assert local.findings
    assert [f[:4] for f in findings(report)] == [f[:4] for f in findings(local)]
    assert {f.location.file for f in report.findings} == {export.as_uri()}
    assert report.scanned_files == loaded.files
    assert sorted(g.message for g in report.coverage_gaps) == sorted([
        f"{broken.as_uri()}: cannot read: invalid JSON (no Records array could be read)",
        f"{export.as_uri()}: 1 of {len(records) + 1} cloudtrail records are malformed and were left out"])


def test_the_command_reads_uris_with_spark_only(spark: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from lambdasec.cli import main

    folder = tmp_path / "AWSLogs"
    folder.mkdir()
    (folder / "trail.json.gz").write_bytes(gzip.compress(json.dumps(
        {"Records": _records(FIXTURES / "DET003.fire.json")}).encode()))
    refused = CliRunner().invoke(main, ["detect", "s3a://bucket/AWSLogs/"])
    assert refused.exit_code == 2 and "--engine spark" in refused.output
    result = CliRunner().invoke(main, ["detect", folder.as_uri() + "/", "--engine", "spark", "--spark-master",
                                       "local[2]", "-f", "json", "--detection", "DET003"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    assert {f["rule_id"] for f in report["findings"]} == {"DET003"}
    assert report["scanned_files"] == [(folder / "trail.json.gz").as_uri()]
