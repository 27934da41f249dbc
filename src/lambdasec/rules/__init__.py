"""Rules: one module per concern; see registry.RULE_MODULES."""
