"""What the detections know besides the logs: AWS's address ranges, mining pools, threat lists, trusted deployers,
and (optionally) the inventory: function names, roles and how privileged they are, subnets of VPC functions."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from lambdasec.fast_dataclass import dataclass, field

from ..model.inventory import CoverageGap, Inventory
from ..model.location import Location


@dataclass
class DetectContext:
    aws_ranges: list[tuple[int, int]] = field(default_factory=list)
    mining_domains: list[str] = field(default_factory=list)
    threat_ips: list[tuple[int, int, str]] = field(default_factory=list)
    deployers: list[str] = field(default_factory=list)  # SQL LIKE patterns
    # arn ("" for IaC), name, account, region, execution role's name
    functions: list[tuple[str, str, str, str, str]] = field(default_factory=list)
    function_subnets: list[tuple[str, str]] = field(default_factory=list)  # function name, subnet id
    # account ("" when the inventory does not know it: IaC), role name, privileged, reason
    roles: list[tuple[str, str, bool, str]] = field(default_factory=list)
    gaps: list[CoverageGap] = field(default_factory=list)


def _bundled(name: str) -> str:
    return resources.files("lambdasec.data").joinpath(name).read_text(encoding="utf-8")


def _lines(text: str) -> Iterable[str]:
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            yield line


def aws_ranges(text: str) -> list[tuple[int, int]]:
    """IPv4 prefixes of AWS's ip-ranges.json, merged, as (first, last) address numbers."""
    document = json.loads(text)
    spans = []
    for prefix in document.get("prefixes", []):
        address, _, length = str(prefix.get("ip_prefix", "")).partition("/")
        try:
            first, bits = int(ipaddress.IPv4Address(address)), int(length)
        except ValueError:
            continue
        size = 1 << (32 - bits)
        first -= first % size
        spans.append((first, first + size - 1))
    merged: list[tuple[int, int]] = []
    for first, last in sorted(spans):  # the file lists a block once per service: merge overlaps and neighbours
        if merged and first <= merged[-1][1] + 1:
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def threat_entries(text: str, source: str) -> tuple[list[tuple[int, int, str]], list[str]]:
    """IPv4 addresses and CIDRs of a threat list; the entries that are neither (reported)."""
    entries, rejected = [], []
    for line in _lines(text):
        token = line.split()[0].split(",")[0]
        try:
            network = ipaddress.ip_network(token, strict=False)
        except ValueError:
            rejected.append(f"{source}: {token!r} is no IPv4 address or CIDR")
            continue
        if isinstance(network, ipaddress.IPv4Network):
            entries.append((int(network.network_address), int(network.broadcast_address), token))
        else:
            rejected.append(f"{source}: {token!r}: IPv6 entries are not matched yet")
    return entries, rejected


def load_context(*, aws_ranges_file: Path | None = None, mining_files: Sequence[Path] = (),
                 threat_files: Sequence[Path] = (), deployers: Sequence[str] = (),
                 inventory: Inventory | None = None, bundled_ranges: bool = True) -> DetectContext:
    context = DetectContext()
    ranges_text: str | None = None
    if aws_ranges_file is not None:
        ranges_text = aws_ranges_file.read_text(encoding="utf-8")
    elif bundled_ranges:
        try:
            ranges_text = _bundled("aws_ip_ranges.json")
        except FileNotFoundError:
            ranges_text = None
    if ranges_text is not None:
        context.aws_ranges = aws_ranges(ranges_text)
    else:
        context.gaps.append(CoverageGap("no-aws-ranges", "no AWS address ranges (give --aws-ranges ip-ranges.json): "
                                                         "DET020 judges Lambda credentials by user agent only"))
    context.mining_domains = sorted({d.lower().rstrip(".") for d in _lines(_bundled("mining_pools.txt"))}
                                    | {d.lower().rstrip(".") for f in mining_files
                                       for d in _lines(f.read_text(encoding="utf-8"))})
    for path in threat_files:
        entries, rejected = threat_entries(path.read_text(encoding="utf-8"), str(path))
        context.threat_ips += entries
        context.gaps += [CoverageGap("threat-list", message, Location(file=str(path))) for message in rejected]
    context.deployers = [pattern.replace("%", r"\%").replace("*", "%") for pattern in deployers]
    if inventory is not None:
        _from_inventory(context, inventory)
    return context


def _from_inventory(context: DetectContext, inventory: Inventory) -> None:
    from ..analysis.attack_paths import reach_of

    for fn in inventory.functions:
        name = fn.name if isinstance(fn.name, str) else fn.id
        arn = fn.key if fn.key.startswith("arn:") else ""
        parts = arn.split(":")
        role = inventory.role_of(fn)
        role_name = role.name if role is not None and isinstance(role.name, str) else (
            fn.role.rsplit("/", 1)[-1] if isinstance(fn.role, str) else "")
        context.functions.append((arn, str(name), parts[4] if len(parts) > 4 else "",
                                  parts[3] if len(parts) > 3 else "", role_name))
        if fn.vpc is not None and isinstance(fn.vpc.subnet_ids, list):
            for subnet in fn.vpc.subnet_ids:
                subnet_id = str(getattr(subnet, "key", subnet)).rsplit("/", 1)[-1]
                context.function_subnets.append((str(name), subnet_id))
    for role in inventory.roles:
        arn = role.key if role.key.startswith("arn:") else ""
        name = role.name if isinstance(role.name, str) else arn.rsplit("/", 1)[-1]
        if not name:
            continue  # a template's role without RoleName gets a generated name: logs cannot name it
        reach = reach_of(role, inventory)
        privileged = reach.blast_radius in ("admin", "escalation")
        account = arn.split(":")[4] if arn.count(":") >= 5 else ""
        context.roles.append((account, name, privileged, f"{reach.blast_radius} per the inventory"))


BUCKET_BITS = 16  # ranges are joined by their /16 blocks: an equality join, then the range test


def by_bucket(spans: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """(bucket, first, last, ...) for every /16 block each (first, last, ...) span covers: engines join addresses
    to ranges by equality on the block (a hash join) instead of comparing every address with every range."""
    rows = []
    for first, last, *rest in spans:
        rows += [(bucket, first, last, *rest) for bucket in range(first >> BUCKET_BITS, (last >> BUCKET_BITS) + 1)]
    return rows


def register(engine: Any, context: DetectContext) -> None:
    """The context as tables of the engine."""
    engine.create_table("aws_ranges", (("bucket", "BIGINT"), ("start_num", "BIGINT"), ("end_num", "BIGINT")),
                        by_bucket(context.aws_ranges))
    engine.create_table("mining_domains", (("domain", "VARCHAR"),), [(d,) for d in context.mining_domains])
    engine.create_table("threat_ips", (("bucket", "BIGINT"), ("start_num", "BIGINT"), ("end_num", "BIGINT"),
                                       ("entry", "VARCHAR")), by_bucket(context.threat_ips))
    engine.create_table("deployers", (("pattern", "VARCHAR"),), [(p,) for p in context.deployers])
    engine.create_table("functions", (("arn", "VARCHAR"), ("name", "VARCHAR"), ("account", "VARCHAR"),
                                      ("region", "VARCHAR"), ("role_name", "VARCHAR")), context.functions)
    engine.create_table("function_subnets", (("function_name", "VARCHAR"), ("subnet_id", "VARCHAR")),
                        context.function_subnets)
    engine.create_table("roles", (("account", "VARCHAR"), ("role_name", "VARCHAR"), ("privileged", "BOOLEAN"),
                                  ("reason", "VARCHAR")), context.roles)
