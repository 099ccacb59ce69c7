"""The core verifier against a live local issuer: what is accepted, what is refused and why."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json

import jwt
import jwt.warnings
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from gatehouse_sdk import (
    ConfigurationError,
    InvalidRequest,
    InvalidToken,
    ProviderUnavailable,
    ResourceServer,
)

from .issuer import AUDIENCE, public_jwk, rsa_key


def b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_valid_token_gives_its_claims(server, issuer):
    token = server.verify(issuer.mint())

    assert token.sub == "user-42"
    assert token.client_id == "orders-web"
    assert token.scopes == {"openid", "orders:read"}
    assert token.roles == {"orders:viewer"}
    assert token.groups == {"engineering"}
    assert token.org == "acme"
    assert token.is_user
    assert token.claims["aud"] == AUDIENCE


def test_a_client_credentials_token_has_no_user(server, issuer):
    token = server.verify(issuer.mint(sub="orders-web", auth_time=None, org=None, groups=None, roles=None))

    assert token.sub == token.client_id == "orders-web"
    assert token.auth_time is None
    assert not token.is_user
    assert token.roles == frozenset()
    assert token.org is None


def test_keys_are_fetched_once_for_many_tokens(server, issuer):
    for _ in range(5):
        server.verify(issuer.mint())

    assert issuer.hits["/.well-known/openid-configuration"] == 1
    assert issuer.hits["/.well-known/jwks.json"] == 1


def test_keys_are_refetched_after_the_cache_lifetime(server, issuer, clock):
    server.verify(issuer.mint())
    clock.advance(601)
    server.verify(issuer.mint(exp=int(clock.now) + 60, iat=int(clock.now), nbf=int(clock.now)))

    assert issuer.hits["/.well-known/jwks.json"] == 2


@pytest.mark.parametrize(
    ("claims", "message"),
    [
        ({"exp": 1_000_000_000}, "expired"),
        ({"aud": "https://other-api.example.test"}, "not meant for this API"),
        ({"aud": ["https://other-api.example.test"]}, "not meant for this API"),
        ({"iss": "https://evil.example.test"}, "not issued by this API's issuer"),
        ({"nbf": 9_999_999_999}, "not valid yet"),
        ({"iat": 9_999_999_999}, "issued in the future"),
        ({"exp": None}, "exp claim is missing"),
        ({"exp": "tomorrow"}, "exp claim is not a number"),
        ({"exp": True}, "exp claim is not a number"),
        ({"sub": None}, "sub claim is missing"),
        ({"client_id": None}, "client_id claim is missing"),
        ({"jti": None}, "jti claim is missing"),
        ({"scope": ["orders:read"]}, "scope claim is not a space-separated string"),
        ({"roles": "admin"}, "roles claim is not a list of strings"),
        ({"groups": [1, 2]}, "groups claim is not a list of strings"),
    ],
)
def test_bad_claims_are_refused(server, issuer, claims, message):
    with pytest.raises(InvalidToken, match=message) as caught:
        server.verify(issuer.mint(**claims))

    assert caught.value.status == 401
    assert 'error="invalid_token"' in caught.value.challenge()


def test_a_list_audience_that_names_the_api_is_accepted(server, issuer):
    assert server.verify(issuer.mint(aud=["https://other.example.test", AUDIENCE])).sub == "user-42"


def test_clock_skew_within_the_leeway_is_tolerated(server, issuer, clock):
    now = int(clock.now)

    assert server.verify(issuer.mint(exp=now - 20, iat=now - 100, nbf=now + 20)).sub == "user-42"
    with pytest.raises(InvalidToken, match="expired"):
        server.verify(issuer.mint(exp=now - 31))


@pytest.mark.parametrize("typ", [None, "JWT", "id_token", "at+JWT+x"])
def test_a_token_without_the_access_token_typ_is_refused(server, issuer, typ):
    with pytest.raises(InvalidToken, match="typ must be at"):
        server.verify(issuer.mint(header={"typ": typ}))


def test_the_media_type_form_of_typ_is_accepted(server, issuer):
    assert server.verify(issuer.mint(header={"typ": "application/AT+JWT"})).sub == "user-42"


def test_alg_none_is_refused(server, issuer):
    token = f"{b64({'alg': 'none', 'typ': 'at+jwt', 'kid': 'key-1'})}.{b64(issuer.claims())}.c2ln"

    with pytest.raises(InvalidToken, match="alg 'none' is not accepted"):
        server.verify(token)


def test_hs256_signed_with_the_public_key_is_refused(server, issuer):
    public_pem = issuer.keys[0][1].public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    header = b64({"alg": "HS256", "typ": "at+jwt", "kid": "key-1"})
    payload = b64(issuer.claims())
    mac = hmac.new(public_pem, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    token = f"{header}.{payload}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"

    with pytest.raises(InvalidToken, match="alg 'HS256' is not accepted"):
        server.verify(token)


def test_a_forged_signature_is_refused(server, issuer):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(InvalidToken, match="signature does not verify"):
        server.verify(issuer.mint(key=other))


def test_a_tampered_payload_is_refused(server, issuer):
    header, _, signature = issuer.mint().split(".")
    tampered = f"{header}.{b64(issuer.claims(scope='orders:admin'))}.{signature}"

    with pytest.raises(InvalidToken, match="signature does not verify"):
        server.verify(tampered)


@pytest.mark.parametrize(
    "token",
    [
        "not-a-jwt.at-all",
        "a.b.c.d",
        "....",
        "a.b.c",
        f"{b64({'alg': 'RS256'})[:-1]}!.e30.c2ln",
        "bm90IGpzb24.e30.c2ln",
        f"{b64(['a list'])}.e30.c2ln",
        "\u00e9t\u00e9.e30.c2ln",
    ],
)
def test_a_token_of_the_wrong_shape_is_refused(server, token):
    with pytest.raises(InvalidToken):
        server.verify(token)


def test_a_huge_token_is_refused_before_any_work(server, issuer):
    with pytest.raises(InvalidToken, match="longer than 8192"):
        server.verify(issuer.mint(padding="x" * 10_000))

    assert issuer.hits["/.well-known/jwks.json"] == 0


@pytest.mark.parametrize("alg", [["RS256"], {"RS256": 1}, 256, None])
def test_an_alg_that_is_not_a_string_is_refused(server, issuer, alg):
    _, payload, signature = issuer.mint().split(".")

    with pytest.raises(InvalidToken, match="is not accepted"):
        server.verify(f"{b64({'alg': alg, 'typ': 'at+jwt', 'kid': 'key-1'})}.{payload}.{signature}")


def test_a_header_without_kid_or_with_crit_is_refused(server, issuer):
    with pytest.raises(InvalidToken, match="no kid"):
        server.verify(jwt.encode(issuer.claims(), issuer.keys[0][1], algorithm="RS256", headers={"typ": "at+jwt"}))
    with pytest.raises(InvalidToken, match="critical header"):
        server.verify(issuer.mint(header={"crit": ["exp"]}))


def test_an_unknown_kid_after_rotation_refetches_the_keys(server, issuer, clock):
    server.verify(issuer.mint())
    issuer.rotate(keep_old=False)
    clock.advance(11)

    assert server.verify(issuer.mint()).sub == "user-42"
    assert issuer.hits["/.well-known/jwks.json"] == 2
    retired = jwt.encode(issuer.claims(), rsa_key(0), algorithm="RS256", headers={"typ": "at+jwt", "kid": "key-1"})
    with pytest.raises(InvalidToken, match="does not publish"):  # the retired key is gone from the new JWKS
        server.verify(retired)


def test_unknown_kid_refetches_are_rate_limited(server, issuer, clock):
    server.verify(issuer.mint())
    for _ in range(20):
        with pytest.raises(InvalidToken, match="does not publish"):
            server.verify(issuer.mint(header={"kid": "made-up"}))

    assert issuer.hits["/.well-known/jwks.json"] == 1
    clock.advance(11)
    with pytest.raises(InvalidToken, match="does not publish"):
        server.verify(issuer.mint(header={"kid": "made-up"}))
    assert issuer.hits["/.well-known/jwks.json"] == 2


def test_es256_tokens_verify(server, issuer):
    issuer.add_ec_key()

    assert server.verify(issuer.mint()).sub == "user-42"


def test_the_alg_must_match_the_keys_type(server, issuer):
    issuer.add_ec_key()
    ec_kid = issuer.keys[-1][0]
    # An RS256 token whose kid names the EC key, and an ES256 token whose kid names the RSA key.
    rs_on_ec = jwt.encode(issuer.claims(), rsa_key(0), algorithm="RS256", headers={"typ": "at+jwt", "kid": ec_kid})
    es_on_rsa = issuer.mint(header={"kid": "key-1"})

    with pytest.raises(InvalidToken, match="match its key"):
        server.verify(rs_on_ec)
    with pytest.raises(InvalidToken, match="match its key"):
        server.verify(es_on_rsa)


def test_an_es256_token_on_the_wrong_curve_is_refused(issuer, clock):
    issuer.rotate(key=ec.generate_private_key(ec.SECP384R1()), alg="ES384")
    issuer.keys[-1] = (issuer.keys[-1][0], issuer.keys[-1][1], "")  # publish it without an alg member
    server = ResourceServer(issuer=issuer.url, audience=AUDIENCE, algorithms=["ES256", "ES384"], clock=clock)

    # A genuine ES384 token relabelled ES256: the P-384 key must not be used for ES256.
    _, payload, signature = issuer.mint(alg="ES384").split(".")
    relabelled = f"{b64({'alg': 'ES256', 'typ': 'at+jwt', 'kid': issuer.keys[-1][0]})}.{payload}.{signature}"

    with pytest.raises(InvalidToken, match="needs an EC key on secp256r1"):
        server.verify(relabelled)


def test_unusable_jwks_entries_are_skipped(server, issuer):
    weak = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    issuer.extra_jwks = [
        {"kty": "oct", "kid": "shared", "k": "c2VjcmV0"},
        public_jwk("weak", weak, "RS256"),
        {"kty": "RSA", "kid": "broken", "n": "!!", "e": "AQAB"},
        {**public_jwk("enc", issuer.keys[0][1], None), "use": "enc"},
        "not an object",
    ]
    with pytest.warns(jwt.warnings.InsecureKeyLengthWarning):
        weak_token = jwt.encode(issuer.claims(), weak, algorithm="RS256", headers={"typ": "at+jwt", "kid": "weak"})

    assert server.verify(issuer.mint()).sub == "user-42"
    for kid in ("shared", "broken", "enc"):
        with pytest.raises(InvalidToken, match="does not publish"):
            server.verify(issuer.mint(header={"kid": kid}))
    with pytest.raises(InvalidToken, match="does not publish"):
        server.verify(weak_token)


def test_an_issuer_that_is_down_is_a_503_not_a_crash(issuer, clock):
    issuer.stop()
    server = ResourceServer(issuer=issuer.url, audience=AUDIENCE, clock=clock)

    with pytest.raises(ProviderUnavailable, match="could not be reached") as caught:
        server.verify(issuer.mint())

    assert caught.value.status == 503
    assert caught.value.headers()["Retry-After"] == "10"
    assert caught.value.body()["error"] == "temporarily_unavailable"


def test_cached_keys_outlive_an_issuer_outage(server, issuer, clock):
    token = issuer.mint(exp=int(clock.now) + 3600)
    server.verify(token)
    issuer.stop()
    clock.advance(601)

    assert server.verify(token).sub == "user-42"
    with pytest.raises(ProviderUnavailable):  # a kid it never saw cannot be checked while the issuer is down
        server.verify(issuer.mint(header={"kid": "new"}, exp=int(clock.now) + 60))


def test_a_discovery_document_for_another_issuer_is_refused(issuer, clock):
    jwks_uri = f"{issuer.url}/.well-known/jwks.json"
    issuer.discovery_override = {"issuer": "https://evil.example.test", "jwks_uri": jwks_uri}
    server = ResourceServer(issuer=issuer.url, audience=AUDIENCE, clock=clock)

    with pytest.raises(ProviderUnavailable, match="names the issuer 'https://evil.example.test'"):
        server.verify(issuer.mint())


@pytest.mark.parametrize(
    "discovery",
    [
        {"jwks_uri": "file:///etc/passwd"},
        {"jwks_uri": None},
        {"jwks_uri": "http://127.0.0.1:1/nothing-here"},
    ],
)
def test_a_broken_discovery_document_is_a_503(issuer, clock, discovery):
    issuer.discovery_override = {"issuer": issuer.url, **discovery}
    server = ResourceServer(issuer=issuer.url, audience=AUDIENCE, clock=clock)

    with pytest.raises(ProviderUnavailable):
        server.verify(issuer.mint())


def test_an_explicit_jwks_uri_skips_discovery(issuer, clock):
    server = ResourceServer(
        issuer=issuer.url, audience=AUDIENCE, jwks_uri=f"{issuer.url}/.well-known/jwks.json", clock=clock
    )

    assert server.verify(issuer.mint()).sub == "user-42"
    assert issuer.hits["/.well-known/openid-configuration"] == 0


@pytest.mark.parametrize(
    ("header", "error"),
    [
        ("Bearer", InvalidRequest),
        ("Bearer ", InvalidRequest),
        ("Bearer a b", InvalidRequest),
        ("Bearer tok\u00e9n", InvalidRequest),
        ("bearer not-a-jwt", InvalidToken),
    ],
)
def test_malformed_authorization_headers(server, header, error):
    with pytest.raises(error):
        server.authenticate(header)


def test_other_schemes_and_no_header_mean_no_token(server):
    assert server.authenticate(None) is None
    assert server.authenticate("Basic dXNlcjpwYXNz") is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"algorithms": ["HS256"]},
        {"algorithms": ["none"]},
        {"algorithms": []},
        {"issuer": "issuer.example.test"},
        {"audience": ""},
        {"introspection_client_id": "only-the-id"},
        {"leeway": -1},
    ],
)
def test_bad_configuration_is_refused_at_start_up(kwargs):
    settings = {"issuer": "https://id.example.test", "audience": AUDIENCE, **kwargs}

    with pytest.raises(ConfigurationError):
        ResourceServer(**settings)


def test_a_payload_with_nan_or_infinity_is_refused(server, issuer):
    header, _, _ = issuer.mint().split(".")
    payload = base64.urlsafe_b64encode(b'{"exp": Infinity}').rstrip(b"=").decode()
    rs256 = jwt.algorithms.RSAAlgorithm(jwt.algorithms.RSAAlgorithm.SHA256)
    signature = rs256.sign(f"{header}.{payload}".encode(), rsa_key(0))

    with pytest.raises(InvalidToken, match="payload is not JSON"):
        server.verify(f"{header}.{payload}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}")


def test_a_truncated_signature_is_refused(server, issuer):
    token = issuer.mint()

    with pytest.raises(InvalidToken, match="signature does not verify"):
        server.verify(token[:-40])
