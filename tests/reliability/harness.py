"""lambdasec as a user runs it, in its own process, under a time bound, with its peak memory measured."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Generous: a case over this is a hang, not a slow run (no timing asserts otherwise).
HANG_SECONDS = 120.0


@dataclass(frozen=True)
class Run:
    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mib: float

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


class Hang(AssertionError):
    pass


def run_lambdasec(args: list[str], *, cwd: Path, timeout: float = HANG_SECONDS,
                  env: dict[str, str] | None = None) -> Run:
    """``lambdasec ARGS`` in a new process group (killed whole on a hang); its exit code, output, peak memory."""
    peak_file = cwd / f".peak-{os.getpid()}-{time.monotonic_ns()}"
    command = [sys.executable, "-m", "tests.reliability.measured", str(peak_file), "--", *args]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
                   "NO_COLOR": "1", **(env or {})}
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, errors="replace", start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        raise Hang(f"lambdasec {' '.join(args)} ran over {timeout:.0f} s") from None
    seconds = time.monotonic() - started
    try:
        peak_mib = int(peak_file.read_text(encoding="ascii")) / 1024
        peak_file.unlink()
    except (OSError, ValueError):
        peak_mib = float("nan")  # the process died before writing it: the exit code says how
    return Run(tuple(args), process.returncode, stdout, stderr, seconds, peak_mib)


def assert_clear_failure(run: Run, exit_code: int) -> None:
    """The exit code wanted, and no Python traceback anywhere in the output."""
    assert "Traceback (most recent call last)" not in run.output, run.output[-3000:]
    assert run.exit_code == exit_code, (run.exit_code, run.output[-3000:])
