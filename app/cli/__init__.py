"""Headless subcommands of `platedesk`; `--json` prints machine-readable results."""
