"""Built-in rule content (YAML rules, YARA rules, SDK catalogue, data tables)."""
