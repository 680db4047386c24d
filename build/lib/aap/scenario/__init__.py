"""The scenario runner: plays a scenario file (tests/scenarios/FORMAT.md) against the services."""
