"""The detection catalogue, one module per ATT&CK tactic."""

from __future__ import annotations

from ..model import Detection


def all_detections() -> list[Detection]:
    from . import credentials, escalation, evasion, network, persistence

    found = [d for module in (persistence, escalation, credentials, network, evasion) for d in module.DETECTIONS]
    return sorted(found, key=lambda d: d.code)
