"""What a pipeline needs around a scan: baselines, the expired-ignore notice, scan history and diffs.

Imported only when used (``--baseline``, ``--history``, an expired ignore, ``lambdasec baseline/render/diff``).
"""

DEFAULT_BASELINE = ".lambdasec-baseline.json"
DEFAULT_HISTORY = ".lambdasec-history.sqlite"
