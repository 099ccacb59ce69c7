"""Signing keys for ID tokens: the lifecycle services (ensure, rotate, prune) and the selectors that sign and verify."""

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from django.db import IntegrityError, connections, router, transaction
from django.utils import timezone
from jwcrypto import jwt
from jwcrypto.jwk import JWK
from oauth2_provider.models import get_access_token_model, get_id_token_model, get_refresh_token_model
from oauth2_provider.settings import oauth2_settings

from audit.services import audit_record
from config.encryption import decrypt, encrypt
from config.exceptions import DomainError
from config.postgresql.client_rows import client_rows
from identity.models import SigningKey

ALGORITHM = "RS256"
# 2048 bits: RS256's minimum (RFC 7518 §3.3) and what every RP library expects. Measured here, a
# 2048-bit key takes ~35 ms to generate and ~0.55 ms per signature; 3072 bits take ~125 ms and
# ~1.5 ms — the signature cost lands on every ID token, so 2048 until policy asks for more.
RSA_KEY_BITS = 2048
# How long the JWKS view (identity/jwks.py) may serve bytes built earlier. Part of the time a next
# key must be published before it may sign: an RP may fetch a copy this old and then cache it.
JWKS_PROCESS_CACHE_SECONDS = 5
# A first start in several processes at once loses at most a couple of races; more means a bug.
_ENSURE_ATTEMPTS = 3

# kid -> decrypted private key. Holds one entry (the active key): a key's material never changes
# under its kid (the kid is its thumbprint), so the entry cannot go stale, only unused.
_private_keys: dict[str, JWK] = {}


def jwks_max_age_seconds() -> int:
    """How long RPs may cache JWKS: DOT's OIDC_JWKS_MAX_AGE_SECONDS, so discovery and JWKS agree."""
    return int(oauth2_settings.OIDC_JWKS_MAX_AGE_SECONDS)


def next_key_min_published_seconds() -> int:
    """How long a next key must be in JWKS before it may sign: an RP's cached copy must hold it."""
    return jwks_max_age_seconds() + JWKS_PROCESS_CACHE_SECONDS


def token_lifetime_seconds() -> int:
    """The longest a token signed now can stay valid, from OAUTH2_PROVIDER (DOT's defaults apply)."""
    return max(int(oauth2_settings.ID_TOKEN_EXPIRE_SECONDS), int(oauth2_settings.ACCESS_TOKEN_EXPIRE_SECONDS))


# Caches other modules build from the keys (identity.jwks registers its document's), forgotten with them.
_key_cache_listeners: list[Callable[[], None]] = []


def on_signing_key_cache_clear(listener: Callable[[], None]) -> Callable[[], None]:
    """Have `listener` called whenever this process forgets its keys (a rotation here; tests)."""
    _key_cache_listeners.append(listener)
    return listener


def signing_key_cache_clear() -> None:
    """Forget decrypted keys and cached JWKS in this process (tests; after rotating here)."""
    _private_keys.clear()
    for listener in _key_cache_listeners:
        listener()


# --- selectors ---------------------------------------------------------------------------------


def signing_key_active_jwk(*, active_kid: str | None = None) -> JWK:
    """The private key ID tokens are signed with now; makes the first keys if there are none.

    The active kid is read from the database on every call, never cached, so a rotation in another
    process takes effect on the next token: no process keeps signing with a key that a forced
    rotation has just dropped from JWKS, and a retired key signs nothing after its retired_at (which
    verify_until counts from). Only the decryption (Fernet + PEM parsing) is cached, keyed by kid.
    A caller that has just read the active kid in a statement of its own (lean_refresh, with
    active_kid_sql) passes it as `active_kid`.
    """
    kid = active_kid or _active_kid()
    if kid is None:
        kid = signing_key_ensure().kid
    key = _private_keys.get(kid)
    if key is None:
        encrypted = SigningKey.objects.filter(kid=kid).values_list("private_key_encrypted", flat=True).first()
        if encrypted is None:  # rotated and pruned between the two reads: take the new active key
            return signing_key_active_jwk()
        key = _load_private_jwk(decrypt(encrypted))
        _private_keys.clear()
        _private_keys[kid] = key
    return key


# The active key's (JWK, kid, private key), for as long as it stays the active key.
_signer: list[tuple] = []


def rs256_signer(jwk_key: JWK) -> tuple[str, object]:
    """(kid, the cryptography private key) of a JWK, worked out once per key: its thumbprint is
    what DOT puts in the header."""
    if not _signer or _signer[0][0] is not jwk_key:
        _signer[:] = [(jwk_key, jwk_key.thumbprint(), jwk_key.get_op_key("sign"))]
    return _signer[0][1], _signer[0][2]


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def rs256_compact(header: str, claims: str, private_key) -> str:
    """The JWS compact serialization jwcrypto's JWT.make_signed_token + serialize() gives for these
    header and claims strings with an RS256 key (RFC 7515 §7.1: RSASSA-PKCS1-v1_5 with SHA-256, which
    is deterministic, so the same bytes), without its per-token header registry copies."""
    signing_input = _b64(header.encode()) + b"." + _b64(claims.encode())
    signature = private_key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    return (signing_input + b"." + _b64(signature)).decode()


def id_token_jws(client, id_token: dict) -> str:
    """An ID token as DOT's finalize_id_token (3.4.1) signs it for `client`, the same bytes: its header and
    claims as DOT's json.dumps writes them, RS256 with the key's kid and private key worked out once per key
    (rs256_signer), any other algorithm through jwcrypto as DOT does."""
    header = {"typ": "JWT", "alg": client.algorithm}
    if client.algorithm == ALGORITHM:
        kid, private_key = rs256_signer(client.jwk_key)
        header["kid"] = kid
        return rs256_compact(json.dumps(header, default=str), json.dumps(id_token, default=str), private_key)
    signed = jwt.JWT(header=json.dumps(header, default=str), claims=json.dumps(id_token, default=str))
    signed.make_signed_token(client.jwk_key)
    return signed.serialize()


def jwt_sign(claims: dict, *, typ: str, active_kid: str | None = None) -> str:
    """A JWT of `claims` signed with the active key (RS256), with `typ` in its header (e.g. `at+jwt`,
    RFC 9068; `logout+jwt`, Back-Channel Logout 1.0), verifiable by anyone from the published JWKS."""
    kid, private_key = rs256_signer(signing_key_active_jwk(active_kid=active_kid))
    header = json.dumps({"alg": ALGORITHM, "typ": typ, "kid": kid}, separators=(",", ":"))
    return rs256_compact(header, json.dumps(claims, separators=(",", ":")), private_key)


def active_kid_sql(alias: str) -> tuple[str, list]:
    """The active key's kid as a scalar subquery, with its parameters, for a caller's own statement."""
    table = connections[alias].ops.quote_name(SigningKey._meta.db_table)
    return f"(SELECT kid FROM {table} WHERE state = %s)", [SigningKey.State.ACTIVE.value]  # noqa: S608


def _active_kid() -> str | None:
    # Raw SQL because this runs for every ID token (DOT asks twice: header kid, then signing):
    # measured here ~20 µs (SQLite) / ~40 µs (PostgreSQL) of CPU, against ~230 / ~340 µs for the
    # same query through the ORM and ~500 µs for the RS256 signature itself. On PostgreSQL the kid is kept
    # in the copy of client rows until the signing keys change (config/postgresql/client_rows.py).
    alias = router.db_for_read(SigningKey)

    def read() -> str | None:
        subquery, params = active_kid_sql(alias)
        with connections[alias].cursor() as cursor:
            cursor.execute(f"SELECT {subquery}", params)
            row = cursor.fetchone()
        return row[0] if row else None

    kid: str | None = client_rows.get(alias, ("active kid", alias), read)
    return kid


def signing_key_for_kid(kid: str, *, now: datetime | None = None) -> JWK | None:
    """The public key for `kid` if JWKS publishes it now (next, active, or retired but still verifying).

    For checking our own tokens, e.g. an `id_token_hint` at logout signed before a rotation.
    """
    if not isinstance(kid, str) or not kid or len(kid) > 64:
        return None
    public_jwk = SigningKey.objects.published(now=now).filter(kid=kid).values_list("public_jwk", flat=True).first()
    return JWK(**public_jwk) if public_jwk is not None else None


def published_jwks(*, now: datetime | None = None) -> dict:
    """The JWK Set RPs verify with: the active key first, then the next key, then retired keys
    until every token they signed has expired. Public members only. Makes the first keys if needed.
    """
    keys = list(SigningKey.objects.published(now=now).values_list("state", "public_jwk"))
    if not any(state == SigningKey.State.ACTIVE for state, _ in keys):
        signing_key_ensure()
        keys = list(SigningKey.objects.published(now=now).values_list("state", "public_jwk"))
    order = {SigningKey.State.ACTIVE: 0, SigningKey.State.NEXT: 1, SigningKey.State.RETIRED: 2}
    keys.sort(key=lambda row: order[row[0]])
    return {"keys": [public_jwk for _, public_jwk in keys]}


# --- services ----------------------------------------------------------------------------------


def signing_key_ensure() -> SigningKey:
    """Return the active key, first making an active and a next key if either is missing.

    Safe when several processes start at once: the partial unique constraints allow one active
    and one next key, so a loser's insert fails, its savepoint rolls back, and it reads the
    winner's key. Keys are generated before the transaction opens so no lock is held meanwhile.
    Not atomic as a whole on purpose: the retry must see rows other processes committed.
    """
    for _ in range(_ENSURE_ATTEMPTS):
        active = SigningKey.objects.filter(state=SigningKey.State.ACTIVE).first()
        has_next = SigningKey.objects.filter(state=SigningKey.State.NEXT).exists()
        if active is not None and has_next:
            return active
        new_active = None if active is not None else _generate()
        new_next = None if has_next else _generate()
        now = timezone.now()
        try:
            with transaction.atomic():
                if new_active is not None:
                    active = _create(material=new_active, state=SigningKey.State.ACTIVE, now=now)
                if new_next is not None:
                    _create(material=new_next, state=SigningKey.State.NEXT, now=now)
        except IntegrityError:
            continue  # another process made them first; read again
        _keys_changed()
        return active
    raise RuntimeError("Could not create the first signing keys: every attempt lost a race.")


def signing_key_rotate(
    *, actor=None, overlap_seconds: int | None = None, force: bool = False, now: datetime | None = None
) -> SigningKey:
    """Promote the next key to active, retire the active key and publish a new next key.

    Rules: the next key must have been in JWKS for at least the JWKS cache lifetime, or RPs holding
    a cached copy could not verify its tokens; a retired key stays published until every token it
    signed has expired (the token lifetime, or `overlap_seconds` if longer). `force` is an emergency
    rotation for a compromised key: it skips the wait, drops the old key from JWKS at once and
    revokes the tokens issued while it was active. Returns the new active key.
    """
    if overlap_seconds is not None and overlap_seconds < 0:
        raise DomainError("The overlap must be zero or more seconds.", field="overlap_seconds")
    if force and overlap_seconds:
        raise DomainError(
            "An emergency rotation removes the old key from JWKS at once, so an overlap does not apply.",
            field="overlap_seconds",
        )
    signing_key_ensure()
    material = _generate()  # outside the transaction: generating takes tens of milliseconds
    # The rotation itself is one transaction, audit row included.
    with transaction.atomic():
        new_active = _rotate(actor=actor, overlap_seconds=overlap_seconds, force=force,
                             now=now or timezone.now(), material=material)
    return new_active


def _rotate(*, actor, overlap_seconds: int | None, force: bool, now: datetime, material: tuple) -> SigningKey:
    # Locking the rows makes a concurrent rotation wait; the conditional updates below then find
    # nothing to change and refuse instead of retiring a key twice.
    active = SigningKey.objects.select_for_update().filter(state=SigningKey.State.ACTIVE).first()
    upcoming = SigningKey.objects.select_for_update().filter(state=SigningKey.State.NEXT).first()
    if active is None or upcoming is None:
        raise DomainError("The signing keys changed while rotating (another rotation?); check them and try again.")
    ready_at = upcoming.published_at + timedelta(seconds=next_key_min_published_seconds())
    if not force and now < ready_at:
        raise DomainError(
            f"The next signing key {upcoming.kid} has been published for {_duration(now - upcoming.published_at)}; "
            f"relying parties may cache JWKS for {_duration(timedelta(seconds=jwks_max_age_seconds()))}, so "
            f"it can be promoted in {_duration(ready_at - now)} (at {ready_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC). "
            "Only an emergency rotation (force) may promote it sooner; it also revokes the current key's tokens."
        )
    keep_seconds = max(token_lifetime_seconds(), overlap_seconds or 0)
    verify_until = now if force else now + timedelta(seconds=keep_seconds)
    retired = SigningKey.objects.filter(pk=active.pk, state=SigningKey.State.ACTIVE).update(
        state=SigningKey.State.RETIRED, retired_at=now, verify_until=verify_until
    )
    promoted = SigningKey.objects.filter(pk=upcoming.pk, state=SigningKey.State.NEXT).update(
        state=SigningKey.State.ACTIVE, activated_at=now
    )
    if not (retired and promoted):
        raise DomainError("The signing keys changed while rotating (another rotation?); check them and try again.")
    new_next = _create(material=material, state=SigningKey.State.NEXT, now=now, actor=actor)
    revoked = _revoke_tokens_since(active.activated_at or active.created_at, now=now) if force else {}
    upcoming.refresh_from_db()
    metadata = {"old_kid": active.kid, "new_kid": upcoming.kid, "next_kid": new_next.kid, "forced": force,
                "overlap_seconds": overlap_seconds, "verify_until": verify_until.isoformat()}
    if force:
        metadata["revoked"] = revoked
    audit_record(action="signing_key.rotated", actor=actor, target=upcoming, metadata=metadata)
    _keys_changed()
    return upcoming


@transaction.atomic
def signing_key_prune(*, now: datetime | None = None) -> list[str]:
    """Delete retired keys whose tokens have all expired (past verify_until). Returns their kids.

    JWKS already leaves them out (the selectors filter on verify_until), so this is housekeeping and
    its schedule does not affect correctness.
    """
    now = now or timezone.now()
    expired = list(SigningKey.objects.filter(state=SigningKey.State.RETIRED, verify_until__lte=now))
    for key in expired:
        audit_record(action="signing_key.deleted", target=key,
                     metadata={"kid": key.kid, "verify_until": key.verify_until.isoformat()})
    SigningKey.objects.filter(pk__in=[key.pk for key in expired]).delete()
    return [key.kid for key in expired]


# --- helpers -----------------------------------------------------------------------------------


def _generate() -> tuple[str, str, dict]:
    """A new RSA key as (kid, PKCS#8 PEM, public JWK with kid/use/alg)."""
    key = JWK.generate(kty="RSA", size=RSA_KEY_BITS)
    kid = key.thumbprint()  # RFC 7638, SHA-256: what DOT puts in the ID token header
    pem = key.export_to_pem(private_key=True, password=None).decode()
    public_jwk = {**key.export_public(as_dict=True), "kid": kid, "use": "sig", "alg": ALGORITHM}
    return kid, pem, public_jwk


def _create(*, material: tuple[str, str, dict], state: str, now: datetime, actor=None) -> SigningKey:
    kid, pem, public_jwk = material
    key = SigningKey.objects.create(
        kid=kid, algorithm=ALGORITHM, private_key_encrypted=encrypt(pem), public_jwk=public_jwk, state=state,
        created_at=now, published_at=now, activated_at=now if state == SigningKey.State.ACTIVE else None,
    )
    audit_record(action="signing_key.created", actor=actor, target=key, metadata={"kid": kid, "state": state})
    return key


def _load_private_jwk(pem: str) -> JWK:
    # cryptography's RSA consistency check costs ~30 ms per load; the PEM is one we generated and
    # Fernet authenticated on decryption, so the check proves nothing here.
    private_key = serialization.load_pem_private_key(pem.encode(), password=None,
                                                     unsafe_skip_rsa_key_validation=True)
    return JWK.from_pyca(private_key)


def _revoke_tokens_since(since: datetime, *, now: datetime) -> dict[str, int]:
    """Revoke refresh tokens and delete access and ID tokens issued since `since` (emergency rotation).

    Refresh tokens are marked revoked rather than deleted, so a replay is still recognised as reuse.
    """
    refresh_tokens = get_refresh_token_model().objects.filter(created__gte=since, revoked__isnull=True)
    try:
        with transaction.atomic():
            refreshed = refresh_tokens.update(revoked=now, updated=now)
    except IntegrityError:
        # (token_checksum, revoked) is unique and two live rows may share a checksum (DOT #1816):
        # fall back to one timestamp per row, as DOT's revoke_family does.
        refreshed = 0
        for token in refresh_tokens:
            token.revoke()
            refreshed += 1
    access_model, id_model = get_access_token_model(), get_id_token_model()
    _, access_deleted = access_model.objects.filter(created__gte=since).delete()
    _, id_deleted = id_model.objects.filter(created__gte=since).delete()
    return {
        "refresh_tokens": refreshed,
        "access_tokens": access_deleted.get(access_model._meta.label, 0),
        "id_tokens": id_deleted.get(id_model._meta.label, 0),
    }


def _keys_changed() -> None:
    # This process serves the new key set at once; other processes within their short JWKS TTL.
    signing_key_cache_clear()
    transaction.on_commit(signing_key_cache_clear)


def _duration(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    parts = [f"{hours} h" if hours else "", f"{minutes} min" if minutes else "", f"{seconds} s" if seconds else ""]
    return " ".join(part for part in parts if part) or "0 s"
