"""Every input layout is read; what cannot be read is a gap (exit 3), never a crash nor a quiet drop."""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("duckdb", reason="lambdasec detect's default engine")

from click.testing import CliRunner  # noqa: E402

from lambdasec.cli import main  # noqa: E402
from lambdasec.detections.context import DetectContext, load_context  # noqa: E402
from lambdasec.detections.engines import DuckDBEngine  # noqa: E402
from lambdasec.detections.pipeline import load_logs  # noqa: E402
from lambdasec.detections.runner import DetectSettings, detect  # noqa: E402

FIXTURES = Path(__file__).parents[2] / "src" / "lambdasec" / "detections" / "fixtures"
OVERWRITE = json.loads((FIXTURES / "DET001.fire.json").read_text())


def _record(i: int, name: str = "GetFunction20150331v2") -> dict[str, Any]:
    when = datetime(2026, 3, 1, 10, tzinfo=timezone.utc) + timedelta(seconds=i)
    return {"eventVersion": "1.08", "eventID": f"e{i:04d}", "eventTime": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "lambda.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
            "recipientAccountId": "111122223333", "sourceIPAddress": "198.51.100.10", "userAgent": "aws-cli/2",
            "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/dev",
                             "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE"},
            "requestParameters": {"functionName": "orders"}}


def _events(engine: DuckDBEngine) -> list[tuple[Any, ...]]:
    return engine.rows("SELECT event_id, api_name, file FROM events ORDER BY event_id")


def test_s3_export_layout_arrays_json_lines_and_lake_rows_are_all_read(tmp_path: Path) -> None:
    folder = tmp_path / "AWSLogs" / "111122223333" / "CloudTrail" / "us-east-1" / "2026" / "03" / "01"
    folder.mkdir(parents=True)
    with gzip.open(folder / "111122223333_CloudTrail_us-east-1_20260301T1000Z_a.json.gz", "wt") as out:
        json.dump({"Records": [_record(1), _record(2)]}, out)
    (tmp_path / "array.json").write_text(json.dumps([_record(3)], indent=2))
    (tmp_path / "lines.jsonl").write_text("\n".join(json.dumps(_record(i)) for i in (4, 5)) + "\n")
    (tmp_path / "lake.json").write_text(json.dumps({"eventJson": json.dumps(_record(6))}) + "\n")
    engine = DuckDBEngine()
    result = load_logs(engine, [tmp_path])
    assert result.gaps == [] and result.records["cloudtrail"] == 6
    assert [(i, api) for i, api, _ in _events(engine)] == [(f"e{i:04d}", "GetFunction") for i in range(1, 7)]


def test_broken_records_and_files_are_counted_per_file_and_the_rest_is_kept(tmp_path: Path) -> None:
    good = json.dumps(_record(1))
    no_time = json.dumps({k: v for k, v in _record(2).items() if k != "eventTime"})
    (tmp_path / "a.jsonl").write_text(f"{good}\n{{broken\n[1, 2]\n{no_time}\n")
    (tmp_path / "b.json").write_text(json.dumps({"Records": [_record(3), _record(4)]})[:-40])  # truncated
    (tmp_path / "c.json.gz").write_bytes(gzip.compress(json.dumps({"Records": [_record(5)]}).encode())[:30])
    (tmp_path / "d.txt").write_text("hello\n")
    engine = DuckDBEngine()
    result = load_logs(engine, [tmp_path])
    assert [(g.kind, g.message.replace(str(tmp_path), "")) for g in result.gaps] == [
        ("malformed-records", "/a.jsonl: 3 of 4 cloudtrail records are malformed and were left out"),
        ("malformed-records", "/b.json: invalid JSON after 1 records: Unterminated string starting at; "
                              "the record before it was read"),
        ("unreadable-log", "/c.json.gz: truncated gzip data: the file ends before its compressed stream does"),
        ("unreadable-log", "/d.txt: not a log format lambdasec reads (CloudTrail, VPC flow logs, Route 53 "
                           "Resolver query logs, GuardDuty findings)")]
    assert [i for i, _, _ in _events(engine)] == ["e0001", "e0003"]


def test_a_broken_gzip_line_file_costs_only_itself(tmp_path: Path) -> None:
    (tmp_path / "ok.jsonl.gz").write_bytes(gzip.compress((json.dumps(_record(1)) + "\n").encode()))
    (tmp_path / "bad.jsonl.gz").write_bytes(gzip.compress((json.dumps(_record(2)) + "\n").encode())[:-12])
    engine = DuckDBEngine()
    result = load_logs(engine, [tmp_path])
    assert [g.location.file for g in result.gaps] == [str(tmp_path / "bad.jsonl.gz")]
    assert [i for i, _, _ in _events(engine)] == ["e0001"]


def test_flow_logs_default_and_custom_formats(tmp_path: Path) -> None:
    (tmp_path / "v2.log").write_text(
        "2 111122223333 eni-1 10.0.1.5 198.51.100.7 40000 3333 6 10 800 1772359200 1772359260 ACCEPT OK\n"
        "2 111122223333 eni-1 - - - - - - - 1772359200 1772359260 - NODATA\n")
    (tmp_path / "custom.log").write_text(
        "version vpc-id subnet-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end "
        "action log-status\n"
        "5 vpc-1 subnet-1 eni-2 10.0.2.5 198.51.100.8 40001 443 6 3 120 1772359300 1772359360 ACCEPT OK\n"
        "5 vpc-1 subnet-1 eni-2 10.0.2.5\n")
    engine = DuckDBEngine()
    result = load_logs(engine, [tmp_path])
    assert [g.message.replace(str(tmp_path), "") for g in result.gaps] == [
        "/custom.log: 1 of 2 flows records are malformed and were left out"]
    assert engine.rows("SELECT interface_id, subnet_id, dst_port, bytes FROM flows ORDER BY interface_id") == [
        ("eni-1", None, 3333, 800), ("eni-2", "subnet-1", 443, 120)]


def test_a_persistent_database_reads_each_file_once(tmp_path: Path) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "a.json").write_text(json.dumps(OVERWRITE))
    database = str(tmp_path / "hunt.duckdb")
    settings = DetectSettings(database=database, context=DetectContext(), detections=("DET001",))
    first = detect([logs], settings)
    (logs / "a.json").write_text(json.dumps(OVERWRITE))  # same content, new modification time: read again
    (logs / "b.json").write_text(json.dumps([_record(1, "UpdateFunctionCode20150331v2")]))
    second = detect([logs], settings)
    third = detect([], settings)  # no paths: the hunt runs on what the database holds
    assert [f.rule_id for f in first.findings] == ["DET001"] * len(first.findings) and first.findings
    assert [f.evidence["event_ids"] for f in second.findings] == [f.evidence["event_ids"] for f in third.findings]
    assert len(second.findings) == len(first.findings) + 1
    engine = DuckDBEngine(database)
    assert engine.rows("SELECT count(*) FROM events")[0][0] == len(OVERWRITE) + 1
    engine.close()


def test_the_command_exits_3_when_a_log_could_not_be_read(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(json.dumps(OVERWRITE))
    (tmp_path / "broken.jsonl").write_text("{not json\n")
    result = CliRunner().invoke(main, ["detect", str(tmp_path), "-f", "json"])
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["summary"]["complete"] is False
    assert {f["rule_id"] for f in report["findings"]} == {"DET001"}
    result = CliRunner().invoke(main, ["detect", str(tmp_path / "a.json"), "--fail-on", "none"])
    assert result.exit_code == 0


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["detect"]).exit_code == 2
    assert CliRunner().invoke(main, ["detect", str(tmp_path), "--detection", "DET999"]).exit_code == 2


def test_a_cloudtrail_file_of_tens_of_megabytes_is_read_whole(tmp_path: Path) -> None:
    padding = "x" * 1200  # CloudTrail records of S3 batch and EC2 calls are often this large
    records = [{**_record(i), "requestParameters": {"functionName": "orders", "note": padding}}
               for i in range(20_000)]
    records[-1] = _record(19_999, "UpdateFunctionCode20150331v2")
    path = tmp_path / "big.json.gz"
    path.write_bytes(gzip.compress(json.dumps({"Records": records}).encode(), compresslevel=1))
    assert len(gzip.decompress(path.read_bytes())) > 25 * 2**20
    report = detect([path], DetectSettings(context=DetectContext(), detections=("DET001",)))
    assert report.coverage_gaps == []
    assert [f.evidence["event_ids"] for f in report.findings] == [["e19999"]]


def test_times_with_an_offset_are_read_as_utc(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text(json.dumps({**_record(1), "eventTime": "2026-03-01T12:00:00+02:00"}) + "\n")
    engine = DuckDBEngine()
    assert load_logs(engine, [tmp_path]).gaps == []
    assert [str(t) for (t,) in engine.rows("SELECT event_time FROM events")] == ["2026-03-01 10:00:00"]


def athena_row(record: dict[str, Any]) -> dict[str, Any]:
    """A CloudTrail record as Athena's CloudTrail table unloads it to JSON: lower-case names, the request and
    response as JSON strings."""
    def lower(value: Any) -> Any:
        return {k.lower(): lower(v) for k, v in value.items()} if isinstance(value, dict) else value

    row = lower({k: v for k, v in record.items() if k not in ("requestParameters", "responseElements")})
    for key in ("requestParameters", "responseElements"):
        if record.get(key) is not None:
            row[key.lower()] = json.dumps(record[key])
    return row


def test_athena_exports_give_the_same_alerts_as_the_records(tmp_path: Path) -> None:
    fixtures = Path(__file__).parents[2] / "src" / "lambdasec" / "detections" / "fixtures"
    names = ["DET001.fire.json", "DET003.fire.json", "DET020.fire.json", "DET041.fire.json"]
    records = [r for name in names for r in json.loads((fixtures / name).read_text())]
    (tmp_path / "athena.jsonl").write_text("".join(json.dumps(athena_row(r)) + "\n" for r in records))
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "trail.json").write_text(json.dumps({"Records": records}))
    settings = DetectSettings(context=load_context())
    athena, plain = detect([tmp_path / "athena.jsonl"], settings), detect([tmp_path / "plain"], settings)
    assert athena.coverage_gaps == [] and plain.findings
    assert [(f.rule_id, f.severity, f.message, f.evidence) for f in athena.findings] == [
        (f.rule_id, f.severity, f.message, f.evidence) for f in plain.findings]


def test_what_duckdb_spills_goes_to_a_temporary_directory_it_removes(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Past its memory limit DuckDB writes to temp_directory, by default .tmp in the current directory: the
    engine points it at a directory of its own under the system's temporary directory, removed on close."""
    import tempfile

    monkeypatch.chdir(tmp_path)
    engine = DuckDBEngine()
    [(spill,)] = engine.rows("SELECT current_setting('temp_directory')")
    assert Path(spill).parent == Path(tempfile.gettempdir()) and Path(spill).name.startswith("lambdasec-duckdb-")
    engine.execute("SET memory_limit = '48MB'")
    engine.execute("CREATE TABLE big AS SELECT i, repeat('x', 1000) || i::VARCHAR AS raw FROM range(200000) r(i)")
    assert engine.rows("SELECT count(*), sum(length(raw)) FROM big") == [(200000, 200000 * 1000 + 1088890)]
    assert list(Path(spill).iterdir())  # it did spill, there
    engine.close()
    assert not Path(spill).exists()
    assert list(tmp_path.iterdir()) == []  # nothing written where the command was run
    persistent = DuckDBEngine(str(tmp_path / "logs.duckdb"))  # a database of the user's: DuckDB's own default
    assert persistent.rows("SELECT current_setting('temp_directory')") == [(str(tmp_path / "logs.duckdb.tmp"),)]
    persistent.close()


@pytest.mark.parametrize("chunk", [1, 7, 1 << 20])
def test_files_are_read_and_inflated_in_pieces(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int) -> None:
    """Concatenated gzip members, zero padding after them, a member cut short and the decompressed limit, with
    pieces from one byte up (the inflater's output capped at the end of its input included)."""
    from lambdasec.detections import inputs
    from lambdasec.detections.inputs import LogFile, iter_text

    monkeypatch.setattr(inputs, "_INFLATE_CHUNK", chunk)
    text = json.dumps({"Records": [_record(i, "GetFunction20150331v2") for i in range(40)]})
    members = tmp_path / "members.json.gz"
    members.write_bytes(gzip.compress(text[:500].encode()) + gzip.compress(text[500:].encode()) + b"\0" * 9)
    log = LogFile(str(members), "cloudtrail", "document", True, records_key="Records")
    assert "".join(iter_text(log, 1 << 20)) == text
    assert members.stat().st_size < len(text) // 4
    with pytest.raises(ValueError, match=f"larger than {len(text) - 1} bytes once decompressed"):
        "".join(iter_text(log, len(text) - 1))
    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(gzip.compress(text.encode())[:-20])
    with pytest.raises(ValueError, match="truncated gzip data"):
        "".join(iter_text(LogFile(str(cut), "cloudtrail", "document", True, records_key="Records"), 1 << 20))
    plain = tmp_path / "plain.json"
    plain.write_bytes(text.encode()[:333] + b"\xff" + text.encode()[333:])  # invalid UTF-8 reads as U+FFFD
    read = "".join(iter_text(LogFile(str(plain), "cloudtrail", "document", False, records_key="Records"), 1 << 20))
    assert read == text[:333] + "\ufffd" + text[333:]


def test_a_gzip_document_cut_before_its_records_is_unreadable_not_malformed(tmp_path: Path) -> None:
    """A read error before the records array is found is the file's (unreadable-log), not the document's."""
    from lambdasec.detections.inputs import LogFile
    from lambdasec.detections.pipeline import split_file

    cut = tmp_path / "cut.json.gz"
    cut.write_bytes(gzip.compress(b'{"eventVersion": "1.08", ' + b" " * 5000 + b'"Records": []}')[:-30])
    log = LogFile(str(cut), "cloudtrail", "document", True, records_key="Records")
    assert split_file(log, str(tmp_path / "out.jsonl")) == (False, [(
        "unreadable-log", f"{cut}: cannot read: truncated gzip data: the file ends before its compressed stream "
                          "does")])
