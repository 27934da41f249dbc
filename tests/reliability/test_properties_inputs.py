"""Property-based tests of the parsers of code and of lambdasec's own saved files.

Deployment packages (zip archives, damaged at random), the Python and JavaScript SDK-call analysers and the
secret scanner (any source text), and the files lambdasec reads back (a JSON report for `render`, a baseline):
whatever the input, the result is a value or the reader's own error, never another exception.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from lambdasec.analysis.code_secrets import scan_package
from lambdasec.analysis.function_code import InlineSource
from lambdasec.analysis.packages import PackageError, inline_package, open_package
from lambdasec.analysis.sdk_node import analyse_node
from lambdasec.analysis.sdk_python import analyse_python
from lambdasec.pipeline.baseline import BaselineError
from lambdasec.pipeline.baseline import parse as parse_baseline
from lambdasec.reporters.json_report import ReportFormatError
from lambdasec.reporters.json_report import load as load_report

from ..conftest import zip_bytes

PROPERTY = settings(derandomize=True, deadline=None, database=None, max_examples=100,
                    suppress_health_check=[HealthCheck.too_slow])

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20)
# Documents shaped like lambdasec's own JSON: the keys it reads, with values of any type.
REPORT_LIKE = st.fixed_dictionaries(
    {"schema_version": st.sampled_from([1, 2, "1", None]),
     "tool": st.one_of(st.just({"name": "lambdasec", "version": "0"}), JSON_VALUES)},
    optional={"findings": st.lists(JSON_VALUES, max_size=3) | JSON_VALUES,
              "coverage_gaps": st.lists(JSON_VALUES, max_size=3) | JSON_VALUES,
              "not_evaluated": JSON_VALUES, "suppressed": JSON_VALUES, "summary": JSON_VALUES,
              "functions": JSON_VALUES, "scanned_files": JSON_VALUES})

PLANTED = "token = 'ghp_" + "aB3" * 12 + "'\n"
SOURCE = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=300) | st.sampled_from([
    "import boto3\ns3 = boto3.client('s3')\ndef handler(e, c):\n    s3.get_object(Bucket=e['b'], Key='k')\n",
    "const { S3Client, GetObjectCommand } = require('@aws-sdk/client-s3');\n"
    "exports.handler = async (e) => new S3Client({}).send(new GetObjectCommand({Bucket: e.b, Key: 'k'}));\n",
    "def handler(e, c):\n    return (" * 50, PLANTED])


GOOD_ZIP = zip_bytes({"app.py": b"import boto3\n" * 40, "lib/util.py": b"x = 1\n" * 200, "data.json": b"{}"})


@st.composite
def damaged_zips(draw: st.DrawFn) -> bytes:
    """A valid archive with bytes overwritten, cut off, or both: every structure of the format gets hit."""
    data = bytearray(GOOD_ZIP)
    for _ in range(draw(st.integers(0, 8))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    cut = draw(st.integers(0, len(data)))
    return bytes(data[:cut]) if draw(st.booleans()) else bytes(data)


@PROPERTY
@given(content=damaged_zips() | st.binary(max_size=300))
@example(content=GOOD_ZIP[: len(GOOD_ZIP) // 2])
def test_a_damaged_archive_opens_or_fails_with_a_package_error(content: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "code.zip"
        path.write_bytes(content)
        try:
            package = open_package(path, "code.zip")
        except PackageError as exc:
            assert str(exc).startswith("code.zip")
            return
        with package:
            for entry in list(package.files):
                data = package.read(entry.path)
                assert data is None or isinstance(data, bytes)
            assert all(problem.message for problem in package.problems)
            scan_package(package, all_files=True)  # reads every file again, as the secret rule does


@PROPERTY
@given(text=SOURCE)
def test_the_python_analyser_reads_any_source(text: str) -> None:
    analysis = analyse_python(InlineSource("index.py", text), "index.handler")
    assert all(call.service for call in analysis.calls)


@PROPERTY
@given(text=SOURCE)
def test_the_javascript_analyser_reads_any_source(text: str) -> None:
    analysis = analyse_node(InlineSource("index.js", text), "index.handler")
    assert all(call.service for call in analysis.calls)


@PROPERTY
@given(text=SOURCE)
@example(text=PLANTED)
def test_the_secret_scanner_reads_any_source(text: str) -> None:
    scan = scan_package(inline_package("index.py", text), all_files=True)
    assert scan.files_scanned == 1
    if text == PLANTED:  # the one source with a secret is read like any other, and the secret found
        assert [(secret.kind, secret.line) for secret in scan.secrets] == [("github-token", 1)]


@PROPERTY
@given(document=REPORT_LIKE | JSON_VALUES)
@example(document={"schema_version": 1, "tool": 1, "findings": []})
def test_a_saved_report_loads_or_fails_with_a_report_format_error(document: object) -> None:
    try:
        load_report(json.dumps(document))
    except ReportFormatError as exc:
        assert "\n" not in str(exc)


@PROPERTY
@given(text=st.text(max_size=200))
def test_any_text_as_a_report_is_a_report_format_error(text: str) -> None:
    with pytest.raises(ReportFormatError):  # two hundred characters never make a whole report
        load_report(text)


@PROPERTY
@given(document=JSON_VALUES | st.fixed_dictionaries({"format": st.just("lambdasec-baseline")},
                                                    optional={"version": JSON_VALUES, "findings": JSON_VALUES}))
def test_a_baseline_loads_or_fails_with_a_baseline_error(document: object) -> None:
    try:
        baseline = parse_baseline(json.dumps(document), "baseline.json")
    except BaselineError as exc:
        assert str(exc).startswith("cannot read baseline baseline.json: ")
        return
    assert all(isinstance(fingerprint, str) for fingerprint in baseline.fingerprints)
