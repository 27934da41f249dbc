#!/usr/bin/env python3
"""Benchmark lambdasec's secrets-in-code rule against detect-secrets and Kingfisher on one realistic package.

    python3 bench/secrets_bench.py                 # full run: 3 timed repetitions per case
    python3 bench/secrets_bench.py --repeat 1      # quick end-to-end check
    python3 bench/secrets_bench.py --only others   # detect-secrets and Kingfisher only

What it does:
1. builds the package with bench/secrets_package.py into bench/.work/secrets/ (pinned dependencies from PyPI, about
   86 MB, plus the team's code with 8 planted secrets), a SAM template beside it and package.zip; the dependencies
   are installed again only when their pins change;
2. creates bench/.work/secrets-tools-venv with ``python3 -m venv`` and installs the pinned detect-secrets and
   Kingfisher (``kingfisher-bin``) there, unless they are already installed;
3. runs every case once untimed (warm-up: its report is kept in bench/.work/secrets/ and scored), then
   ``--repeat`` timed times, and reports the median wall time, CPU time and peak RSS (measured as bench/run.py
   does: os.wait4 on the child);
4. scores each warm-up report against the planted secrets (a finding counts when it names the planted file and
   one of the planted lines) and counts every other secret finding as a false positive.

No tool touches the network: Kingfisher runs with --no-validate and --no-update-check, detect-secrets with
--no-verify (by default both call provider APIs to check the secrets they find). The other tools print full
secrets in their reports: those reports stay in bench/.work (git-ignored); only counts and paths leave it.
Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import run  # noqa: E402  (bench/run.py: the measuring shared with the Checkov benchmark)
import secrets_package  # noqa: E402
from secrets_package import BenchPackage, PlantedSecret  # noqa: E402

REPO = run.BENCH.parent
OUT = secrets_package.OUT
TOOLS_VENV = run.WORK / "secrets-tools-venv"
DETECT_SECRETS_VERSION = "1.5.0"  # the versions installed when the benchmark was written; bump deliberately
KINGFISHER_VERSION = "2.14.0"
SECRETS_RULE = "SEC003"
KINGFISHER_FINDINGS_EXIT = 200  # Kingfisher's exit code when it reports findings


# --------------------------------------------------------------------------------------------------
# Setup
# --------------------------------------------------------------------------------------------------


def ensure_tools(detect_secrets_version: str, kingfisher_version: str) -> tuple[Path, Path]:
    """detect-secrets and kingfisher from their own venv, (re)installed when the pins differ."""
    pins = [f"detect-secrets=={detect_secrets_version}", f"kingfisher-bin=={kingfisher_version}"]
    stamp = TOOLS_VENV / "bench-pins.json"
    tools = (TOOLS_VENV / "bin" / "detect-secrets", TOOLS_VENV / "bin" / "kingfisher")
    if all(tool.exists() for tool in tools) and stamp.exists() and json.loads(stamp.read_text()) == pins:
        return tools
    print(f"installing {', '.join(pins)} into {TOOLS_VENV}...", file=sys.stderr, flush=True)
    if not (TOOLS_VENV / "bin" / "pip").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TOOLS_VENV)], check=True)
    pip = str(TOOLS_VENV / "bin" / "pip")
    subprocess.run([pip, "install", "-q", "--disable-pip-version-check", *pins], check=True)
    stamp.write_text(json.dumps(pins) + "\n")
    return tools


def lambdasec_rule_codes(lambdasec: str) -> set[str]:
    result = subprocess.run([lambdasec, "rules", "--format", "json"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"`{lambdasec} rules --format json` failed (exit {result.returncode}): is lambdasec "
                         f"installed (pip install -e .)?\n{result.stderr.strip()}")
    return {rule["code"] for rule in json.loads(result.stdout)}


# --------------------------------------------------------------------------------------------------
# Reading the tools' reports
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Hit:
    """One secret finding, reduced to where it is: never its value."""
    path: str        # relative to the package root when it can be resolved, else as reported
    line: int | None
    kind: str        # the tool's rule, type or kind


@dataclass
class Report:
    """What one warm-up report says."""
    findings: int                     # everything the tool reported
    hits: list[Hit]                   # the secret findings
    notes: list[str] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)  # lambdasec: third-party files/bytes skipped, if exposed


def package_path(raw: str, bench: BenchPackage) -> str:
    """A reported path made relative to the package root (directory paths, ``x.zip!entry`` and ``x.zip!/entry``)."""
    text = raw.replace("\\", "/")
    marker = bench.zip_path.name + "!"
    if marker in text:
        return text.split(marker, 1)[1].lstrip("/")
    path = Path(text) if os.path.isabs(text) else Path.cwd() / text
    try:
        return path.resolve().relative_to(bench.package.resolve()).as_posix()
    except ValueError:
        return text


def read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise SystemExit(f"unreadable report {path}: {error}") from error


def read_detect_secrets(path: Path, bench: BenchPackage) -> Report:
    data = read_json(path)
    results = data.get("results", {}) if isinstance(data, dict) else {}
    hits = [Hit(package_path(name, bench), entry.get("line_number"), entry.get("type", "?"))
            for name, entries in results.items() for entry in entries]
    return Report(len(hits), hits)


def read_kingfisher(path: Path, bench: BenchPackage) -> Report:
    data = read_json(path)
    findings = data.get("findings", []) if isinstance(data, dict) else []
    hits = [Hit(package_path(item["finding"].get("path", "?"), bench), item["finding"].get("line"),
                item.get("rule", {}).get("id", "?")) for item in findings]
    report = Report(len(hits), hits)
    summary = data.get("metadata", {}).get("summary", {}) if isinstance(data, dict) else {}
    if summary:
        scanned_mb = summary.get("bytes_scanned", 0) / 1e6
        report.notes.append(f"{summary.get('blobs_scanned', '?')} blobs, {scanned_mb:.1f} MB scanned; validation: "
                            f"{summary.get('successful_validations', 0)} succeeded, "
                            f"{summary.get('failed_validations', 0)} failed (must be 0 with --no-validate)")
    return report


def _dicts(value: object) -> Iterator[dict[str, object]]:
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _dicts(item)
    elif isinstance(value, list):
        for item in value:
            yield from _dicts(item)


def read_lambdasec(path: Path, bench: BenchPackage) -> Report:
    data = read_json(path)
    if not isinstance(data, dict):
        raise SystemExit(f"unexpected lambdasec report in {path}")
    findings = data.get("findings", [])
    hits = []
    for finding in findings:
        if finding.get("rule_id") != SECRETS_RULE:
            continue
        evidence = finding.get("evidence") or {}
        location = finding.get("location") or {}
        hits.append(Hit(package_path(str(evidence.get("path") or location.get("file", "?")), bench),
                        evidence.get("line") or location.get("line"), str(evidence.get("kind", "?"))))
    report = Report(len(findings), hits)
    report.notes.append(f"{len(data.get('coverage_gaps', []))} coverage gaps, "
                        f"{len(data.get('not_evaluated', []))} not evaluated; findings by rule: "
                        + ", ".join(f"{rule} {count}" for rule, count in
                                    sorted(Counter(f.get("rule_id", "?") for f in findings).items())))
    report.skipped = third_party_skipped([data.get("not_evaluated", []), findings])
    text = path.read_text()
    leaked = [secret.kind for secret in bench.planted if any(part in text for part in _value_parts(secret))]
    report.notes.append("no planted secret in the report" if not leaked
                        else f"LEAK: full planted values of {', '.join(leaked)} in the report")
    return report


def third_party_skipped(report_parts: object) -> dict[str, int]:
    """SEC003's counts of third-party files and bytes it skipped (evidence such as ``third_party_files_skipped``).

    The counts are per package: the first entry that has them is enough for this one-package benchmark.
    """
    for entry in _dicts(report_parts):
        counts = {key: value for key, value in entry.items() if isinstance(value, int) and "third_party" in key}
        files = next((value for key, value in counts.items() if "files" in key), None)
        if files is not None:
            scanned = entry.get("files_scanned")
            return {"files": files, "bytes": next((value for key, value in counts.items() if "bytes" in key), 0),
                    **({"files_scanned": scanned} if isinstance(scanned, int) else {})}
    return {}


def _value_parts(secret: PlantedSecret) -> Iterator[str]:
    """The strings whose presence in a report means a leak: each value, and each line of a key block."""
    for value in secret.values:
        yield value
        if "\n" in value:
            yield from (line for line in value.splitlines()[1:-1] if len(line) >= 32)


# --------------------------------------------------------------------------------------------------
# Scoring
# --------------------------------------------------------------------------------------------------


@dataclass
class Score:
    found: list[str]             # kinds of the planted secrets found
    missed: list[str]
    false_positives: int         # secret findings on no planted line
    false_in_team_code: int      # of which in the team's own files
    false_by_folder: dict[str, int]

    def as_dict(self) -> dict[str, object]:
        return {"found": self.found, "missed": self.missed, "false_positives": self.false_positives,
                "false_positives_in_team_code": self.false_in_team_code,
                "false_positives_by_top_folder": self.false_by_folder}


def score(report: Report, planted: tuple[PlantedSecret, ...]) -> Score:
    def matches(hit: Hit, secret: PlantedSecret) -> bool:
        return hit.path == secret.path and hit.line in secret.lines

    found = [secret.kind for secret in planted if any(matches(hit, secret) for hit in report.hits)]
    false = [hit for hit in report.hits if not any(matches(hit, secret) for secret in planted)]
    team = secrets_package.TEAM_PACKAGE + "/"
    folders = Counter(hit.path.split("/", 1)[0] for hit in false if not hit.path.startswith(team))
    return Score(found, [secret.kind for secret in planted if secret.kind not in found], len(false),
                 sum(1 for hit in false if hit.path.startswith(team)), dict(folders.most_common()))


# --------------------------------------------------------------------------------------------------
# Cases and report
# --------------------------------------------------------------------------------------------------


@dataclass
class SecretsCase:
    case: run.Case
    read: Callable[[Path, BenchPackage], Report]
    report: Report | None = None
    score: Score | None = None


def lambdasec_cases(lambdasec: str, bench: BenchPackage) -> list[SecretsCase]:
    tail = ["-f", "json", "-o", "/dev/null", "--fail-on", "none", "--no-cache"]
    sec = ["--rule", SECRETS_RULE]
    template, archive = str(bench.template), str(bench.zip_path)
    ok = (0, 3)  # 3: a coverage gap, reported in the sanity notes
    return [SecretsCase(run.Case(name, "lambdasec", [lambdasec, "scan", *args, *tail], ok), read_lambdasec)
            for name, args in (
                (f"template + directory package, {SECRETS_RULE} only", [template, *sec]),
                ("template + directory package, all rules", [template]),
                (f"template + directory package, {SECRETS_RULE}, --scan-all-files", [template, *sec,
                                                                                     "--scan-all-files"]),
                (f"package.zip, {SECRETS_RULE} only", [archive, *sec]),
            )]


def other_cases(detect_secrets: Path, kingfisher: Path, bench: BenchPackage) -> list[SecretsCase]:
    # --no-verify / --no-validate: no call to provider APIs; --no-update-check: no call home. The rule cache
    # (compiled patterns, built by the warm-up run as by a user's first run) stays under bench/.work.
    kingfisher_base = [str(kingfisher), "scan", "--no-validate", "--no-update-check", "--format", "json",
                       "--quiet", "--rule-cache-dir", str(OUT / "kingfisher-rule-cache")]
    kingfisher_ok = (0, KINGFISHER_FINDINGS_EXIT)
    return [
        SecretsCase(run.Case("directory package", "detect-secrets",
                             [str(detect_secrets), "scan", "--all-files", "--no-verify", str(bench.package)],
                             (0,), True), read_detect_secrets),
        SecretsCase(run.Case("directory package", "kingfisher", [*kingfisher_base, str(bench.package)],
                             kingfisher_ok, True), read_kingfisher),
        SecretsCase(run.Case("package.zip", "kingfisher", [*kingfisher_base, str(bench.zip_path)],
                             kingfisher_ok, True), read_kingfisher),
    ]


def table(cases: list[SecretsCase], planted: int) -> str:
    lines = ["| case | tool | median wall (s) | min-max wall (s) | median CPU (s) | median peak RSS (MiB) | findings "
             "| planted found | other secret findings | third-party files skipped | wall vs Kingfisher (directory) |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    reference = next((item for item in cases if item.case.tool == "kingfisher" and item.case.samples), None)
    base_wall = run.medians(reference.case)[0] if reference else None
    for item in cases:
        wall, cpu, rss = run.medians(item.case)
        walls = [sample[0] for sample in item.case.samples]
        assert item.report is not None and item.score is not None
        skipped = item.report.skipped
        skip_text = f"{skipped['files']:,} ({skipped['bytes'] / 1e6:.1f} MB)" if skipped else ""
        ratio = f"{wall / base_wall:.2f}x" if base_wall else ""
        fp = f"{item.score.false_positives} ({item.score.false_in_team_code} in team code)"
        lines.append(f"| {item.case.name} | {item.case.tool} | {wall:.3f} | {min(walls):.3f}-{max(walls):.3f} | "
                     f"{cpu:.2f} | {rss:.0f} | {item.report.findings} | {len(item.score.found)}/{planted} | {fp} | "
                     f"{skip_text} | {ratio} |")
    return "\n".join(lines)


def short(case: run.Case) -> str:
    """The command as a reader would type it: paths relative to the repository, lambdasec from PATH."""
    command = case.shell()
    if case.tool == "lambdasec":
        command = "lambdasec" + command[len(case.command[0]):]
    return command.replace(str(REPO) + "/", "")


def sanity_line(item: SecretsCase) -> str:
    assert item.report is not None and item.score is not None
    parts = [f"{item.report.findings} findings, {len(item.report.hits)} of them secrets"]
    parts.append("missed: " + (", ".join(item.score.missed) or "none"))
    if item.score.false_by_folder:
        parts.append("false positives by top folder: " + ", ".join(
            f"{folder} {count}" for folder, count in list(item.score.false_by_folder.items())[:8]))
    if item.report.skipped:
        parts.append("third-party skipped / files scanned: " + ", ".join(
            f"{key} {value:,}" for key, value in item.report.skipped.items()))
    parts.extend(item.report.notes)
    return "; ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (default 3)")
    parser.add_argument("--only", choices=["all", "lambdasec", "others"], default="all")
    parser.add_argument("--lambdasec", default=shutil.which("lambdasec") or "lambdasec",
                        help="lambdasec executable (default: the one on PATH)")
    parser.add_argument("--detect-secrets-version", default=DETECT_SECRETS_VERSION)
    parser.add_argument("--kingfisher-version", default=KINGFISHER_VERSION)
    args = parser.parse_args(argv)

    versions: dict[str, str] = {}
    if args.only in ("all", "lambdasec"):
        if SECRETS_RULE not in lambdasec_rule_codes(args.lambdasec):
            raise SystemExit(f"{args.lambdasec} has no rule {SECRETS_RULE} (secrets in code): this lambdasec "
                             "predates it. Install the current tree (pip install -e .) or run --only others.")
        versions["lambdasec"] = run.tool_version([args.lambdasec, "--version"])
    bench = secrets_package.build()
    # run.py's runner appends the children's stderr to RESULTS/stderr.log: keep this benchmark's in OUT.
    run.RESULTS = OUT
    (OUT / "stderr.log").write_bytes(b"")
    for stale in OUT.glob("case*-*.json"):  # the reports of an earlier run, numbered by other case lists
        stale.unlink()

    cases: list[SecretsCase] = []
    if args.only in ("all", "lambdasec"):
        cases += lambdasec_cases(args.lambdasec, bench)
    if args.only in ("all", "others"):
        detect_secrets, kingfisher = ensure_tools(args.detect_secrets_version, args.kingfisher_version)
        versions["detect-secrets"] = run.tool_version([str(detect_secrets), "--version"])
        versions["kingfisher"] = run.tool_version([str(kingfisher), "--version"])
        cases += other_cases(detect_secrets, kingfisher, bench)
    info = run.machine()
    print(f"package: {bench.files} files, {bench.bytes / 1e6:.1f} MB ({bench.team_files} the team's), zip "
          f"{bench.zip_bytes / 1e6:.1f} MB; versions: {versions}; machine: {info}", file=sys.stderr)

    for index, item in enumerate(cases):
        output = OUT / f"case{index}-{item.case.tool}.json"
        run.measure(item.case, args.repeat, output)
        item.report = item.read(output, bench)
        item.score = score(item.report, bench.planted)

    planted = ", ".join(f"{secret.label} (`{secret.path}:{secret.lines[0]}`)" for secret in bench.planted)
    report = [
        f"Package: {bench.files:,} files, {bench.bytes / 1e6:.1f} MB ({len(secrets_package.REQUIREMENTS)} pinned "
        f"distributions installed for python3.12 x86_64, and the team's {bench.team_files} files in "
        f"`{secrets_package.TEAM_PACKAGE}/`); package.zip {bench.zip_bytes / 1e6:.1f} MB. "
        f"{len(bench.planted)} planted secrets: {planted}.",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, {info['os']}, Python "
        f"{info['python']}. Versions: " + ", ".join(f"{tool} {version}" for tool, version in versions.items()) + ".",
        f"Median of {args.repeat} timed runs after one untimed warm-up run. 1-minute load average before each case: "
        + ", ".join(f"{item.case.load_before:.2f}" for item in cases) + ".",
        "",
        table(cases, len(bench.planted)),
        "",
        "Commands:",
        "",
        *[f"- {item.case.tool}, {item.case.name}: `{short(item.case)}`" for item in cases],
        "",
        "Sanity (warm-up outputs):",
        "",
        *[f"- {item.case.tool}, {item.case.name}: {sanity_line(item)}" for item in cases],
    ]
    text = "\n".join(report)
    print(text)
    (OUT / "report.md").write_text(text + "\n")
    (OUT / "results.json").write_text(json.dumps({
        "machine": info, "versions": versions, "repeat": args.repeat,
        "package": {"files": bench.files, "bytes": bench.bytes, "team_files": bench.team_files,
                    "zip_bytes": bench.zip_bytes, "requirements": list(secrets_package.REQUIREMENTS)},
        "planted": [secret.public() for secret in bench.planted],
        "cases": [{"name": item.case.name, "tool": item.case.tool, "command": short(item.case),
                   "samples": item.case.samples, "median": run.medians(item.case),
                   "load_before": item.case.load_before, "findings": item.report.findings if item.report else None,
                   "secret_findings": len(item.report.hits) if item.report else None,
                   "score": item.score.as_dict() if item.score else None,
                   "third_party_skipped": item.report.skipped if item.report else None,
                   "notes": item.report.notes if item.report else []} for item in cases],
    }, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
