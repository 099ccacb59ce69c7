"""Hosted sign-in, the login flow, user sessions and one-time tokens."""
