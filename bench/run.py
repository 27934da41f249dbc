#!/usr/bin/env python3
"""Benchmark lambdasec against Checkov on the same generated corpus, in the same run.

    python3 bench/run.py                  # full run: 400 templates, 3 repetitions per case
    python3 bench/run.py --only checkov   # only the Checkov half (useful while lambdasec is not installed)

What it does:
1. creates bench/.work/checkov-venv with ``python3 -m venv`` and installs the pinned Checkov there, unless
   it is already installed;
2. generates the corpus with bench/make_corpus.py into bench/.work/corpus (deterministic, seeded);
3. runs every case once untimed (warm-up and sanity check: the output is kept in bench/.work/results and
   counted), then ``--repeat`` timed times, and reports the median wall time, CPU time and peak RSS.

Wall time is measured around the child process; CPU time and peak RSS come from ``os.wait4`` (the child and
the descendants it waited for). Standard library only.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

BENCH = Path(__file__).resolve().parent
WORK = BENCH / ".work"
CHECKOV_VENV = WORK / "checkov-venv"
CHECKOV_VERSION = "3.3.30"  # the version installed when the benchmark was written; bump deliberately
RESULTS = WORK / "results"
LAMBDA_ENTITY = re.compile(r"^AWS::(Lambda::\w+|Serverless::Function)$")


# --------------------------------------------------------------------------------------------------
# Setup
# --------------------------------------------------------------------------------------------------


def ensure_checkov(version: str) -> Path:
    checkov = CHECKOV_VENV / "bin" / "checkov"
    if not checkov.exists():
        print(f"installing checkov=={version} into {CHECKOV_VENV} (takes a few minutes)...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(CHECKOV_VENV)], check=True)
        pip = CHECKOV_VENV / "bin" / "pip"
        subprocess.run([str(pip), "install", "-q", "--upgrade", "pip"], check=True)
        subprocess.run([str(pip), "install", "-q", f"checkov=={version}"], check=True)
    return checkov


def tool_version(command: list[str]) -> str:
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    found = re.search(r"\d+\.\d+\.\d+\S*", result.stdout + result.stderr)
    return found.group(0) if result.returncode == 0 and found else "?"


def checkov_lambda_check_ids(checkov: Path) -> list[str]:
    """Checkov's CloudFormation checks whose entity is a Lambda resource, read from ``checkov -l``."""
    listing = subprocess.run([str(checkov), "-l", "--framework", "cloudformation"], capture_output=True,
                             text=True, check=True).stdout
    ids = set()
    for row in listing.splitlines():
        cells = [cell.strip() for cell in row.split("|")]
        if len(cells) > 5 and cells[2].startswith("CKV") and LAMBDA_ENTITY.match(cells[4]):
            ids.add(cells[2])
    return sorted(ids, key=lambda check: (check.split("_")[0], int(check.rsplit("_", 1)[1])))


def make_corpus(corpus: Path, count: int, seed: int) -> dict:
    subprocess.run([sys.executable, str(BENCH / "make_corpus.py"), "--out", str(corpus), "-n", str(count),
                    "--seed", str(seed)], check=True)
    return json.loads(corpus.with_name(corpus.name + ".manifest.json").read_text())


def typical_template(manifest: dict, kind: str) -> dict:
    """The short-syntax YAML template of ``kind`` whose size is closest to that kind's median."""
    candidates = [t for t in manifest["templates"] if t["kind"] == kind and t["syntax"] == "yaml-short"]
    median_lines = statistics.median(t["lines"] for t in candidates)
    return min(candidates, key=lambda t: (abs(t["lines"] - median_lines), t["path"]))


def machine() -> dict[str, str]:
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem_kb = re.search(r"MemTotal:\s+(\d+)", meminfo)
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    return {
        "nproc": str(os.cpu_count()),
        "memory": f"{int(mem_kb.group(1)) / 1024 / 1024:.1f} GiB" if mem_kb else "?",
        "cpu": model.group(1).strip() if model else platform.processor() or "?",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }


# --------------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------------


@dataclass
class Case:
    name: str
    tool: str
    command: list[str]
    ok_codes: tuple[int, ...] = (0,)
    stdout_to_devnull: bool = False  # checkov prints its report on stdout
    samples: list[tuple[float, float, float]] = field(default_factory=list)  # (wall s, cpu s, max rss MiB)
    load_before: float = 0.0  # 1-minute load average before the case: other work on the machine skews wall times

    def shell(self) -> str:
        text = " ".join(self.command)
        return f"{text} > /dev/null" if self.stdout_to_devnull else text


def child_environment() -> dict[str, str]:
    """Both tools run with compiled bytecode, as after a normal ``pip install``.

    An inherited PYTHONDONTWRITEBYTECODE would make an editable install recompile every module on every run;
    the cache goes to bench/.work/pycache so that the source tree stays clean.
    """
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    return env


def run_once(command: list[str], stdout_path: str, ok_codes: tuple[int, ...]) -> tuple[float, float, float]:
    with open(stdout_path, "wb") as stdout, open(RESULTS / "stderr.log", "ab") as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=stderr, env=child_environment())
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from waiting a second time
    if process.returncode not in ok_codes:
        raise SystemExit(f"exit code {process.returncode} from: {' '.join(command)} (see {RESULTS}/stderr.log)")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024  # ru_maxrss is KiB on Linux


def measure(case: Case, repeat: int, sanity_output: Path) -> None:
    """One untimed warm-up run whose report is kept in ``sanity_output``, then ``repeat`` timed runs."""
    case.load_before = os.getloadavg()[0]
    print(f"  {case.name}: warm-up", file=sys.stderr, flush=True)
    if case.stdout_to_devnull:
        run_once(case.command, str(sanity_output), case.ok_codes)
    else:  # lambdasec writes its report with -o
        warmup = [str(sanity_output) if arg == "/dev/null" else arg for arg in case.command]
        run_once(warmup, os.devnull, case.ok_codes)
    for index in range(repeat):
        sample = run_once(case.command, os.devnull, case.ok_codes)
        case.samples.append(sample)
        print(f"  {case.name}: run {index + 1}/{repeat}: {sample[0]:.3f} s wall, {sample[1]:.2f} s cpu, "
              f"{sample[2]:.0f} MiB", file=sys.stderr, flush=True)


def medians(case: Case) -> tuple[float, float, float]:
    return tuple(statistics.median(sample[i] for sample in case.samples) for i in range(3))  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------------
# Sanity summaries of the warm-up outputs
# --------------------------------------------------------------------------------------------------


def summarize_checkov(path: Path) -> str:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return "unreadable output"
    reports = data if isinstance(data, list) else [data]
    summary = {"passed": 0, "failed": 0, "parsing_errors": 0, "resource_count": 0}
    for report in reports:
        for key in summary:
            summary[key] += int(report.get("summary", {}).get(key, 0))
    return (f"{summary['resource_count']} resources, {summary['failed']} failed / {summary['passed']} passed checks, "
            f"{summary['parsing_errors']} parsing errors")


def summarize_lambdasec(path: Path) -> str:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return "unreadable output"
    findings = data.get("findings", []) if isinstance(data, dict) else data
    parts = [f"{len(findings)} findings"]
    rules = sorted({f.get("rule_id", "?") for f in findings if isinstance(f, dict)})
    if rules:
        parts.append(f"{len(rules)} distinct rules")
    if isinstance(data, dict):
        for key in ("not_evaluated", "coverage_gaps", "errors"):
            if isinstance(data.get(key), list):
                parts.append(f"{len(data[key])} {key.replace('_', ' ')}")
    return ", ".join(parts)


# --------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------


def table(cases: list[Case], baseline: Case | None) -> str:
    lines = ["| case | tool | median wall (s) | min-max wall (s) | median CPU (s) | median peak RSS (MiB) | "
             "wall vs lambdasec |",
             "|---|---|---:|---:|---:|---:|---:|"]
    base_wall = medians(baseline)[0] if baseline and baseline.samples else None
    for case in cases:
        wall, cpu, rss = medians(case)
        walls = [sample[0] for sample in case.samples]
        ratio = ""
        if base_wall and case.tool == "checkov" and "corpus" in case.name:
            ratio = f"{wall / base_wall:.1f}x slower"
        elif base_wall and case is baseline:
            ratio = "1x"
        lines.append(f"| {case.name} | {case.tool} | {wall:.3f} | {min(walls):.3f}-{max(walls):.3f} | {cpu:.2f} | "
                     f"{rss:.0f} | {ratio} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--count", type=int, default=400, help="templates in the corpus (default 400)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per case (default 3)")
    parser.add_argument("--only", choices=["all", "checkov", "lambdasec"], default="all")
    parser.add_argument("--checkov-version", default=CHECKOV_VERSION)
    parser.add_argument("--lambdasec", default=shutil.which("lambdasec") or "lambdasec",
                        help="lambdasec executable (default: the one on PATH)")
    args = parser.parse_args(argv)

    WORK.mkdir(exist_ok=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "stderr.log").write_bytes(b"")
    corpus = WORK / "corpus"
    manifest = make_corpus(corpus, args.count, args.seed)
    cfn_single = typical_template(manifest, "cfn")
    sam_single = typical_template(manifest, "sam")
    info = machine()

    cases: list[Case] = []
    baseline = None
    versions: dict[str, str] = {}
    if args.only in ("all", "lambdasec"):
        versions["lambdasec"] = tool_version([args.lambdasec, "--version"])
        scan = [args.lambdasec, "scan"]
        tail = ["-f", "json", "-o", "/dev/null", "--fail-on", "none"]
        # The main cases never use the SAM translation cache (a first scan) and expand SAM natively (the
        # default). The "official translator" cases force aws-sam-translator for every SAM template
        # (--sam-expander official), first without the cache, then with the cache (a private folder under
        # bench/.work) warm: what a scan cost before the native expander, and what the fallback costs.
        cold = [*tail, "--no-cache"]
        official = ["--sam-expander", "official"]
        cache_dir = WORK / "lambdasec-cache"
        shutil.rmtree(cache_dir, ignore_errors=True)
        os.environ["LAMBDASEC_CACHE_DIR"] = str(cache_dir)
        baseline = Case("corpus (all templates)", "lambdasec", [*scan, str(corpus), *cold], (0, 3))
        sam_name = f"single SAM template ({sam_single['functions']} fn, {sam_single['lines']} lines)"
        sam_path = str(corpus / sam_single["path"])
        cases += [
            baseline,
            Case(f"single CFN template ({cfn_single['functions']} fn, {cfn_single['lines']} lines)", "lambdasec",
                 [*scan, str(corpus / cfn_single["path"]), *cold], (0, 3)),
            Case(sam_name, "lambdasec", [*scan, sam_path, *cold], (0, 3)),
            Case("corpus, official SAM translator", "lambdasec", [*scan, str(corpus), *cold, *official], (0, 3)),
            Case(f"{sam_name}, official SAM translator", "lambdasec", [*scan, sam_path, *cold, *official], (0, 3)),
            Case("corpus, official SAM translator, cache warm", "lambdasec",
                 [*scan, str(corpus), *tail, *official], (0, 3)),
            Case(f"{sam_name}, official SAM translator, cache warm", "lambdasec",
                 [*scan, sam_path, *tail, *official], (0, 3)),
        ]
    lambda_ids: list[str] = []
    if args.only in ("all", "checkov"):
        checkov = ensure_checkov(args.checkov_version)
        versions["checkov"] = tool_version([str(checkov), "--version"])
        lambda_ids = checkov_lambda_check_ids(checkov)
        # --skip-download: no call to the vendor API (it would fail offline anyway); checks are unchanged
        base = [str(checkov), "--framework", "cloudformation", "--quiet", "--compact", "-o", "json",
                "--skip-download"]
        ok = (0, 1)  # 1 means "failed checks found"
        cases += [
            Case("corpus, default checks", "checkov", [*base, "-d", str(corpus)], ok, True),
            Case(f"corpus, {len(lambda_ids)} Lambda checks only", "checkov",
                 [*base, "-d", str(corpus), "--check", ",".join(lambda_ids)], ok, True),
            Case("single CFN template, default checks", "checkov",
                 [*base, "-f", str(corpus / cfn_single["path"])], ok, True),
            Case("single SAM template, default checks", "checkov",
                 [*base, "-f", str(corpus / sam_single["path"])], ok, True),
        ]

    functions = sum(t["functions"] for t in manifest["templates"])
    print(f"corpus: {len(manifest['templates'])} templates, {functions} functions, seed {args.seed}", file=sys.stderr)
    print(f"versions: {versions}; machine: {info}", file=sys.stderr)
    if lambda_ids:
        print(f"checkov Lambda check ids: {','.join(lambda_ids)}", file=sys.stderr)

    sanity: dict[str, str] = {}
    for index, case in enumerate(cases):
        output = RESULTS / f"case{index}-{case.tool}.json"
        measure(case, args.repeat, output)
        summarize = summarize_lambdasec if case.tool == "lambdasec" else summarize_checkov
        sanity[case.name] = summarize(output)

    report = [
        f"Corpus: {len(manifest['templates'])} templates ({functions} functions), seed {args.seed}; "
        f"single CFN: `{cfn_single['path']}`, single SAM: `{sam_single['path']}`.",
        f"Machine: {info['nproc']} CPUs ({info['cpu']}), {info['memory']} RAM, {info['os']}, "
        f"Python {info['python']}. Versions: "
        + ", ".join(f"{tool} {version}" for tool, version in versions.items()) + ".",
        f"Median of {args.repeat} timed runs after one untimed warm-up run. 1-minute load average before each "
        "case: " + ", ".join(f"{case.load_before:.2f}" for case in cases)
        + " (it includes this benchmark's own previous case; well above 1.5 on a 2-CPU machine means other work"
        " competed and wall times are too high).",
        "",
        table(cases, baseline),
        "",
        "Commands:",
        "",
        *[f"- {case.tool}, {case.name}: `{case.shell()}`" for case in cases],
        "",
        "Sanity (warm-up outputs):",
        "",
        *[f"- {case.tool}, {case.name}: {sanity[case.name]}" for case in cases],
    ]
    text = "\n".join(report)
    print(text)
    (RESULTS / "report.md").write_text(text + "\n")
    (RESULTS / "results.json").write_text(json.dumps({
        "machine": info, "versions": versions, "seed": args.seed, "count": args.count, "repeat": args.repeat,
        "checkov_lambda_checks": lambda_ids,
        "cases": [{"name": c.name, "tool": c.tool, "command": c.shell(), "samples": c.samples,
                   "median": medians(c), "sanity": sanity[c.name],
                   "load_before": c.load_before} for c in cases],
    }, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
