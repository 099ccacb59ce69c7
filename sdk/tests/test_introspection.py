"""Opaque tokens: RFC 7662 introspection as the API's own client, with positive and negative caching."""

from __future__ import annotations

import pytest
from gatehouse_sdk import InvalidToken, ProviderUnavailable, ResourceServer

from .issuer import AUDIENCE


def test_an_active_token_gives_its_claims(server, issuer):
    token = server.verify(issuer.opaque(sub="orders-web", auth_time=None, scope="orders:read"))

    assert token.sub == "orders-web"
    assert token.scopes == {"orders:read"}
    assert not token.is_user


def test_an_inactive_answer_is_cached_negatively(server, issuer, clock):
    for _ in range(3):
        with pytest.raises(InvalidToken, match="not active"):
            server.verify("gho_revoked")
    assert issuer.hits["/oauth/introspect/"] == 1

    clock.advance(61)
    with pytest.raises(InvalidToken):
        server.verify("gho_revoked")
    assert issuer.hits["/oauth/introspect/"] == 2


def test_a_positive_answer_is_not_kept_past_the_tokens_expiry(server, issuer, clock):
    token = issuer.opaque(exp=int(clock.now) + 5)
    server.verify(token)
    clock.advance(40)  # past exp + leeway, within the positive cache lifetime

    with pytest.raises(InvalidToken, match="expired"):
        server.verify(token)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ({"aud": "https://another-api.example.test"}, "not meant for this API"),
        ({"iss": "https://evil.example.test"}, "not issued by this API's issuer"),
        ({"exp": 1_000_000_000}, "expired"),
        ({"token_type": "refresh_token"}, "not an access token"),
    ],
)
def test_an_active_answer_is_still_checked(server, issuer, answer, message):
    with pytest.raises(InvalidToken, match=message):
        server.verify(issuer.opaque(**answer))


def test_wrong_api_credentials_are_a_503_that_names_the_problem(issuer):
    server = ResourceServer(
        issuer=issuer.url, audience=AUDIENCE, introspection_client_id="orders-api", introspection_client_secret="wrong"
    )

    with pytest.raises(ProviderUnavailable, match="answered HTTP 401"):
        server.verify(issuer.opaque())


def test_an_introspection_outage_is_a_503_and_is_not_cached(server, issuer):
    token = issuer.opaque()
    server.provider.metadata()  # discovery while the issuer is up
    issuer.stop()

    with pytest.raises(ProviderUnavailable, match="could not be reached"):
        server.verify(token)
    with pytest.raises(ProviderUnavailable):
        server.verify(token)


def test_without_introspection_credentials_an_opaque_token_is_refused(issuer):
    server = ResourceServer(issuer=issuer.url, audience=AUDIENCE)

    with pytest.raises(InvalidToken, match="not a JWT access token"):
        server.verify(issuer.opaque())
    assert issuer.hits["/oauth/introspect/"] == 0
