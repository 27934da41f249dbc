"""docs/reliability.md states figures the tests produce: they must stay equal to the code that produces them."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

from tests.aws.read_operations import READ_OPERATIONS

from . import corpus_archives_logs, corpus_iac
from .test_leaks import OUTPUTS, PLACES, coverage_matrix

PAGE = (Path(__file__).resolve().parents[2] / "docs" / "reliability.md").read_text(encoding="utf-8")
HERE = Path(__file__).parent


def _row(name: str) -> int:
    found = re.search(rf"^\| {re.escape(name)} \| (\d+) \|", PAGE, re.M)
    assert found is not None, name
    return int(found[1])


def test_the_corpus_sizes_are_the_corpora() -> None:
    iac = Counter(case.category for case in corpus_iac.CASES)
    files = Counter(case.category for case in corpus_archives_logs.CASES)
    archives = sum(n for kind, n in files.items() if kind in ("zip-bomb", "zip64", "traversal", "symlink", "corrupt"))
    assert {name: _row(name) for name in ("CloudFormation / SAM", "Terraform", "Serverless Framework",
                                          "IAM policies", "lambdasec's own files", "deployment packages and layers",
                                          "log files")} == {
        "CloudFormation / SAM": iac["cloudformation"], "Terraform": iac["terraform"],
        "Serverless Framework": iac["serverless"], "IAM policies": iac["iam-policies"],
        "lambdasec's own files": iac["lambdasec-files"], "deployment packages and layers": archives,
        "log files": len(corpus_archives_logs.CASES) - archives}
    total = len(corpus_iac.CASES) + len(corpus_archives_logs.CASES)
    assert f"**{total} cases**" in PAGE


def test_the_property_counts_are_the_properties() -> None:
    def properties(module: str) -> int:
        return (HERE / module).read_text(encoding="utf-8").count("\n@given(")

    parsers = properties("test_properties_parsers.py") + properties("test_properties_inputs.py")
    iam = properties("test_properties_iam.py")
    assert f"**{parsers} properties of the parsers and {iam} of the IAM analysis**" in PAGE


def test_the_leak_matrix_and_the_allow_list_are_as_stated() -> None:
    assert f"**{len(PLACES)} places**" in PAGE and f"**{len(OUTPUTS)} outputs**" in PAGE
    assert f"{len(coverage_matrix())} (place, output) pairs" in PAGE
    assert f"**{len(READ_OPERATIONS)} operations**" in PAGE
