"""Terraform collectors: HCL configurations and plan JSON, both mapped by `mapper` onto the inventory."""
