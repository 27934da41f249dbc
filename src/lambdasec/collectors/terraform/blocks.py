"""The common shape of a Terraform resource or data source, whichever way it was read.

The HCL reader evaluates a configuration into these blocks; the plan reader builds them from
`terraform show -json` output. `mapper` then turns blocks into inventory objects, so both inputs
give the same inventory for the same infrastructure.
"""

from __future__ import annotations

from typing import Any

from lambdasec.fast_dataclass import dataclass, field

from ...model.location import Location


@dataclass
class TfBlock:
    mode: str  # "managed" (resource) | "data"
    type: str  # e.g. "aws_lambda_function"
    name: str  # e.g. "api"
    # Full address as Terraform prints it: `aws_lambda_function.api`, `module.orders.aws_lambda_function.w["eu"]`,
    # `data.aws_iam_policy_document.assume`.
    address: str
    # Unique across the scan: "<module dir or plan file relative to the scan root>#<address>".
    key: str
    # Evaluated arguments, shaped like plan JSON `values`: scalars (str/int/float/bool/None), lists, dicts;
    # nested blocks are lists of dicts (`"environment": [{"variables": {...}}]`); a reference to another block is a
    # ResourceRef(key_of_that_block, attribute) (attribute None for the whole object); anything not known
    # statically is Unresolved(expression, reason).
    attributes: dict[str, Any]
    location: Location  # the block's first line
    # Locations of arguments by dotted path in the same shape ("environment.0.variables.TOKEN", "role").
    attribute_locations: dict[str, Location] = field(default_factory=dict)
    # `# lambdasec: ignore[ID] reason` comments inside or above the block.
    suppressions: dict[str, str] = field(default_factory=dict)

    def at(self, path: str) -> Location:
        while path:
            if path in self.attribute_locations:
                return self.attribute_locations[path]
            path = path.rpartition(".")[0]
        return self.location
