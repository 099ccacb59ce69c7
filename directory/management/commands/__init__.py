"""Operator commands: create_user."""
