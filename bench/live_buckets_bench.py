#!/usr/bin/env python3
"""Lambda's quota buckets read one after the other or side by side, with the network latency of a far region.

    python3 bench/live_buckets_bench.py                    # 300 functions, 150 ms added to every request
    python3 bench/live_buckets_bench.py -n 500 --latency 80
    python3 bench/live_buckets_bench.py --alias-policies   # + an alias on every 3rd function, read with its policy

The Lambda part of a live scan reads, per function, GetFunction, GetPolicy and the shared bucket (URLs, event-invoke
configs), each paced by lambdasec (50, 10 and 10 requests per second). Read one after the other, a function costs
the SUM of its calls' round trips; walked side by side (a thread per bucket), the scan goes at the pace of the
slowest bucket. The difference is the network: from a laptop in Europe to ap-southeast-2 a round trip is about
250 ms, and three calls in a row take 0.75 s per function, where the shared bucket allows one every 0.1 s.
bench/live_bench.py cannot show it: its emulator answers on the same machine. This benchmark seeds moto's
standalone server (127.0.0.1) with live_bench.py's account and runs the library's own ``collect_live`` twice on it,
with a botocore ``before-send`` handler that waits ``--latency`` ms before each request (the simulated round trip;
nothing else is changed): once with ``max_workers=1`` (buckets one after the other) and once with the default 8
workers (a thread per bucket). Reported: the collection's wall time and the calls by Lambda bucket (identical).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from live_bench import REGION, WORK, free_port, seed, start_emulator  # noqa: E402


def far_sessions(latency: float) -> Any:
    """boto3 sessions whose every request first waits ``latency`` seconds (a far region's round trip)."""
    import boto3

    def factory(**kwargs: Any) -> Any:
        session = boto3.session.Session(**kwargs)
        session.events.register("before-send", lambda **_: time.sleep(latency))  # then sent as usual
        return session

    return factory


def collect(endpoint: str, workers: int, latency: float, aliases: bool) -> tuple[float, dict[str, int], int]:
    from lambdasec.collectors.aws.api import CallStats
    from lambdasec.collectors.aws.collector import collect_live
    from lambdasec.collectors.aws.session import LiveOptions

    stats = CallStats()
    options = LiveOptions(regions=(REGION,), max_workers=workers, endpoint_url=endpoint, alias_policies=aliases)
    started = time.perf_counter()
    inventory = collect_live(options, session_factory=far_sessions(latency), stats=stats)
    wall = time.perf_counter() - started
    lambda_buckets = {k: v for k, v in stats.by_bucket().items() if k.startswith("lambda")}
    return wall, lambda_buckets, len(inventory.functions)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", "--functions", type=int, default=300)
    parser.add_argument("--latency", type=float, default=150.0, help="milliseconds added to every request")
    parser.add_argument("--alias-policies", action="store_true",
                        help="seed an alias on every 3rd function and collect with alias_policies=True")
    parser.add_argument("--side-by-side-only", action="store_true", help="skip the --max-workers 1 collection")
    args = parser.parse_args(argv)
    for name, value in (("AWS_ACCESS_KEY_ID", "testing"), ("AWS_SECRET_ACCESS_KEY", "testing"),
                        ("AWS_DEFAULT_REGION", REGION)):
        os.environ[name] = value
    os.environ.pop("AWS_PROFILE", None)
    WORK.mkdir(parents=True, exist_ok=True)
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    emulator = start_emulator(port, WORK / "buckets-emulator.log")
    rows = []
    try:
        seed(endpoint, args.functions, aliases=args.alias_policies)
        runs = (("one after the other (--max-workers 1)", 1), ("side by side (8 workers)", 8))
        for label, workers in runs[1:] if args.side_by_side_only else runs:
            wall, buckets, functions = collect(endpoint, workers, args.latency / 1000, args.alias_policies)
            print(f"{label}: {wall:.1f} s, {functions} functions, {buckets}", file=sys.stderr)
            rows.append((label, wall, buckets))
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    print(f"{args.functions} functions, {args.latency:g} ms added to every request; command: "
          f"`python3 bench/live_buckets_bench.py -n {args.functions} --latency {args.latency:g}"
          f"{' --alias-policies' if args.alias_policies else ''}"
          f"{' --side-by-side-only' if args.side_by_side_only else ''}`\n")
    print("| Lambda buckets read | wall (s) | shared bucket | GetFunction | GetPolicy |")
    print("|---|---:|---:|---:|---:|")
    for label, wall, buckets in rows:
        print(f"| {label} | {wall:.1f} | {buckets.get('lambda', 0)} | {buckets.get('lambda:GetFunction', 0)} | "
              f"{buckets.get('lambda:GetPolicy', 0)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
