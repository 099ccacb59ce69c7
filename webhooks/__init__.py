"""Webhooks: per-org endpoints told about audit events, signed per Standard Webhooks, through an outbox."""
