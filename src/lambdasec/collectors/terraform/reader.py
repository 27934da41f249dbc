"""A Terraform module directory (or one .tf file) -> inventory: the HCL reader, then the shared mapper."""

from __future__ import annotations

from pathlib import Path

from ...model.inventory import CoverageGap, Inventory, Parameter
from ...model.location import Location
from ..options import CollectOptions


def collect_module(files: list[Path], root: Path, options: CollectOptions) -> Inventory | None:
    from .hcl import read_module
    from .mapper import build_inventory

    if not files:
        return None
    inventory = Inventory()
    try:
        links: dict[tuple[str, str], Parameter] = {}  # env vars set from `variable`s: SEC002's business
        blocks, gaps = read_module(files, root, options, parameter_links=links)
        inventory.coverage_gaps.extend(gaps)
        build_inventory(blocks, inventory, parameters=links)
    except RecursionError:
        inventory = Inventory(coverage_gaps=[CoverageGap("parse-error", "configuration is nested too deeply",
                                                          Location(_rel(files[0].parent, root)))])
    except Exception as exc:  # a configuration shape we did not foresee must not end the whole scan
        message = f"could not read configuration: {type(exc).__name__}: {exc}"[:300]
        inventory = Inventory(coverage_gaps=[CoverageGap("internal-error", message,
                                                          Location(_rel(files[0].parent, root)))])
    return inventory


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.as_posix()
