"""Command-line commands beyond scan, rules and explain (registered in cli.py)."""
