"""Operator commands: create_org, seed_demo."""
