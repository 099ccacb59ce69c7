"""Operator commands: create_application."""
