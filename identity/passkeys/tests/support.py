"""Helpers for passkey tests: the options → authenticator → verify round trips over HTTP."""

import json

from identity.passkeys.tests.authenticator import SoftAuthenticator

ISSUER = "http://localhost:8000"


def post_json(client, url: str, body=None):
    return client.post(url, data=json.dumps(body or {}), content_type="application/json")


def register(client, authenticator: SoftAuthenticator, name: str = "Laptop", **create_kwargs):
    """Run a registration round trip; returns the verify response."""
    options = post_json(client, "/passkeys/register/options").json()
    credential = authenticator.create(options, **create_kwargs)
    return post_json(client, "/passkeys/register/verify", {"credential": credential, "name": name})


def sign_in_options(client) -> dict:
    return post_json(client, "/passkeys/login/options").json()


def sign_in(client, authenticator: SoftAuthenticator, **get_kwargs):
    """Run a passwordless sign-in round trip; returns the verify response."""
    credential = authenticator.get(sign_in_options(client), **get_kwargs)
    return post_json(client, "/passkeys/login/verify", {"credential": credential})
