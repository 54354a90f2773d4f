"""Scenario fixtures: a documented YAML/JSON format describing an account and its registries."""

from docrsim.scenarios.loader import ScenarioError, apply, read_file, validate

__all__ = ["ScenarioError", "apply", "read_file", "validate"]
