"""CloudFormation and SAM collector."""
