"""Runtime threat detection over logs (CloudTrail, VPC flow logs, Route 53 Resolver query logs, GuardDuty
findings) on DuckDB, or on Spark at scale, with one catalogue of portable SQL detections (docs/detections.md)."""
