"""Run one lambdasec command and write its peak memory: ``python -m tests.reliability.measured OUT -- ARGS``.

The command runs as the ``lambdasec`` entry point would (``cli.main`` in this process); afterwards the largest
resident set of this process and of its forked workers, in KiB, is written to OUT. The exit status is the
command's own.
"""

from __future__ import annotations

import resource
import sys


def _own_peak_kib() -> int:
    """This process's largest resident set. Linux keeps ru_maxrss across exec, so it would include the memory
    of the test process that started us; VmHWM belongs to the address space exec gave us."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _peak_kib() -> int:
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(_own_peak_kib(), workers)


def _status(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def measured(out: str, args: list[str]) -> int:
    from lambdasec.cli import main

    try:
        main(args=args, prog_name="lambdasec")
        status = 0
    except SystemExit as exc:
        status = _status(exc.code)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(out, "w", encoding="ascii") as sink:
        sink.write(str(_peak_kib()))
    return status


if __name__ == "__main__":
    separator = sys.argv.index("--")
    sys.exit(measured(sys.argv[1], sys.argv[separator + 1:]))
