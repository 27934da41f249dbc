"""Live AWS accounts: read-only collection into the same inventory as the IaC collectors (docs/live.md)."""
