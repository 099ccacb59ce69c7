"""GatehouseValidator: django-oauth-toolkit's validator with our claims, access rule and code-replay defence."""

import base64
import binascii
import functools
import hashlib
import json
import logging
import uuid
from datetime import timedelta
from urllib.parse import unquote_plus

from django.db import router, transaction
from django.db.models import F
from django.utils import timezone
from jwcrypto.common import JWException
from jwcrypto.jws import JWS
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_refresh_token_model,
    refresh_token_expire_timedelta,
)
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.settings import oauth2_settings
from oauthlib.oauth2.rfc6749 import errors, utils

from applications.models import Application, AuthorizationRecord
from applications.oauth_policy import pkce_required, pkce_required_for
from applications.selectors import application_by_client_id
from applications.token_policy import (
    bearer_token_usable,
    default_scopes_within_limit,
    grant_allowed,
    previous_secret_live,
    scopes_within_limit,
    status_refusal,
)
from audit.services import audit_record
from config.compiled_queries import CompiledQuery, first_row
from identity.mfa.assurance import acr_for
from identity.oidc.access import application_access
from identity.oidc.claims import CLAIM_FUNCTIONS, CLAIM_SCOPES
from identity.oidc.lean_guard import lean_paths_enabled
from identity.oidc.resources import TargetError, body_resources, granted_api_scopes, resolve_target
from identity.signing import id_token_jws, signing_key_for_kid

logger = logging.getLogger(__name__)


def checksum(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


# Read on every code exchange (and refresh): their SQL is built once (config/compiled_queries.py).
_GRANT_OF_CODE = CompiledQuery(
    lambda code: first_row(get_grant_model().objects.select_related("user").filter(code=code)), "stand-in-code")
_RECORD_OF_CODE = CompiledQuery(
    lambda code_checksum: first_row(AuthorizationRecord.objects.filter(code_checksum=code_checksum)), "stand-in-sum")
_RECORD_OF_FAMILY = CompiledQuery(
    lambda family: first_row(AuthorizationRecord.objects.filter(token_family=family)), uuid.UUID(int=0x5AD))


@functools.cache
def _request_agnostic(validator_class) -> bool:
    return OAuth2Validator._get_additional_claims_is_request_agnostic.__func__(validator_class)


class GatehouseValidator(OAuth2Validator):
    # A new dict: never mutate the base class's mapping (LIBRARIES.md).
    oidc_claim_scope = {**OAuth2Validator.oidc_claim_scope, **CLAIM_SCOPES}

    # ------------------------------------------------------------------ claims

    def get_claim_dict(self, request):
        claims = super().get_claim_dict(request)
        # The subject is the user's stable public id, never the database id.
        claims["sub"] = lambda r: str(r.user.public_id)
        return claims

    def get_additional_claims(self):
        # Request-agnostic form (callables), so discovery lists them in claims_supported.
        return dict(CLAIM_FUNCTIONS)

    @classmethod
    def _get_additional_claims_is_request_agnostic(cls):
        # DOT's answer, once per class: it asks inspect.signature() on every claims build.
        return _request_agnostic(cls)

    def get_discovery_claims(self, request):
        return [*super().get_discovery_claims(request), "auth_time", "amr", "acr", "sid", "nonce", "iss", "aud",
                "exp", "iat"]

    def _authorization_record(self, request) -> AuthorizationRecord | None:
        code = getattr(request, "code", None)
        if code and request.grant_type == "authorization_code":
            return _RECORD_OF_CODE.first(checksum(code))
        refresh = getattr(request, "refresh_token_instance", None)
        if refresh is not None and refresh.token_family:
            return _RECORD_OF_FAMILY.first(refresh.token_family)
        return None

    def get_id_token_dictionary(self, token, token_handler, request):
        claims, expiration = super().get_id_token_dictionary(token, token_handler, request)
        record = self._authorization_record(request)
        if record is not None:
            # The sign-in that produced this code, not the user's last login anywhere.
            claims["auth_time"] = int(record.auth_time.timestamp())
            claims["amr"] = record.amr
            # What that sign-in proved, as a level an RP can ask for with acr_values (identity/mfa/assurance.py).
            claims["acr"] = acr_for(record.amr)
            if record.sid:
                claims["sid"] = record.sid
        return claims, expiration

    def _get_key_for_token(self, token):
        """The key named by the token's kid, among every published key (retired ones too), so an
        id_token_hint signed before a rotation still works at logout."""
        try:
            unverified = JWS()
            unverified.deserialize(token)
            kid = unverified.jose_header.get("kid")
        except (JWException, ValueError, TypeError):
            return None
        return signing_key_for_kid(kid) if kid else None

    # ------------------------------------------------------------------ client authentication

    # After a rotation with an overlap the previous secret's hash sits on the same Application row
    # (applications.services.client_secret_rotate) and works until previous_secret_expires_at. It
    # is looked at only once DOT has refused the current secret and only while an overlap runs:
    # no extra query, and no extra hashing for a client with no overlap.

    def _authenticate_basic_auth(self, request):
        if super()._authenticate_basic_auth(request):
            return True
        credentials = self._basic_auth_credentials(request)
        return credentials is not None and self._previous_secret_matches(request, *credentials)

    def _authenticate_request_body(self, request):
        if super()._authenticate_request_body(request):
            return True
        client_id = getattr(request, "client_id", None)
        secret = getattr(request, "client_secret", "") or ""
        return self._previous_secret_matches(request, client_id, secret)

    def _basic_auth_credentials(self, request) -> tuple[str, str] | None:
        """(client_id, secret) from the Authorization header, decoded as DOT's _authenticate_basic_auth does."""
        auth_string = self._extract_basic_auth(request)
        if not auth_string:
            return None
        encoding = getattr(request, "encoding", None) or "utf-8"
        try:
            decoded = base64.b64decode(auth_string).decode(encoding)
        except (TypeError, binascii.Error, UnicodeDecodeError, LookupError):
            return None
        client_id, colon, secret = decoded.partition(":")
        return (unquote_plus(client_id), unquote_plus(secret)) if colon else None

    def _previous_secret_matches(self, request, client_id, secret: str) -> bool:
        """The secret is the client's previous one and its overlap has not ended (checked with
        DOT's _check_secret: hash comparison in constant time)."""
        client = getattr(request, "client", None)
        if (not isinstance(client, Application) or not client_id or client.client_id != client_id or not secret
                or not previous_secret_live(previous_secret=client.previous_client_secret,
                                            expires_at=client.previous_secret_expires_at, now=timezone.now())):
            return False
        return self._check_secret(secret, client.previous_client_secret)

    # ------------------------------------------------------------------ loading (fewer queries)

    def _load_application(self, client_id, request):
        """DOT's lookup, with the org joined in: is_usable() and the org claim read it, which
        would otherwise cost a second query on every token request. On /oauth/authorize, the client its
        first validation loaded (identity/oidc/authorize.py passes it on for oauthlib's second)."""
        if isinstance(client_id, str) and "\x00" in client_id:
            # No client id holds a NUL; PostgreSQL refuses the lookup with DataError (not the
            # ValueError DOT catches), which would be a 500. An unknown client.
            return None
        known = getattr(request, "gatehouse_client", None)  # the authorize view's first validation loaded it
        if not request.client and isinstance(known, Application) and known.client_id == client_id:
            request.client = known
        if not request.client and isinstance(client_id, str) and client_id:
            # Unknown ids (and CIMD URLs, and ids PostgreSQL refuses): DOT's own lookup below decides.
            request.client = application_by_client_id(client_id=client_id)
        return super()._load_application(client_id, request)

    def _load_access_token(self, token):
        """DOT's lookup (by checksum, with application and user), with the application's org
        joined in for is_usable() and the org claim at userinfo."""
        return (
            get_access_token_model().objects.select_related("application__org", "user")
            .filter(token_checksum=checksum(token)).first()
        )

    def validate_bearer_token(self, token, scopes, request):
        """Gatehouse's own bearer endpoint (userinfo): a live token of a usable app, with the scopes,
        for a person. A token made for a registered API (RFC 8707) is accepted here too when it carries
        `openid`: the person consented to that scope for the app, whatever audience the token names.
        A client's own token (client credentials) describes no one: invalid_token, never a 500."""
        access_token = self._load_access_token(token) if token else None
        if access_token is None or not access_token.is_valid(scopes):
            self._set_oauth2_error_on_request(request, access_token, scopes)
            return False
        if access_token.user is None \
                or not bearer_token_usable(application=access_token.application, user=access_token.user):
            request.oauth2_error = {"error": "invalid_token", "error_description": "The access token is invalid."}
            return False
        request.client = access_token.application
        request.user = access_token.user
        request.scopes = list(access_token.scopes)
        request.access_token = access_token
        return True

    def is_pkce_required(self, client_id, request):
        # Our PKCE_REQUIRED callable looks the client up by id; it is usually loaded by now, so
        # decide from it rather than query it again.
        client = getattr(request, "client", None)
        if (oauth2_settings.PKCE_REQUIRED is pkce_required and isinstance(client, Application)
                and client.client_id == client_id):
            return pkce_required_for(client)
        return super().is_pkce_required(client_id, request)

    def finalize_id_token(self, id_token, token, token_handler, request):
        if lean_paths_enabled():
            serialized = self._finalize_id_token(id_token, token, token_handler, request)
        else:
            serialized = super().finalize_id_token(id_token, token, token_handler, request)
        # DOT then stores the access token with a link to this ID token, which it finds by
        # verifying the JWT it has just signed (key lookup, RSA verification, SELECT by jti):
        # remember the row so _load_id_token can hand it over for this exact JWT. DOT shares one
        # validator between requests and threads, so this is only a hint: the pair is replaced
        # whole, a JWT (unique jti) matches only its own row, and a miss takes DOT's way.
        self._signed_id_token = (serialized, request.id_token)
        return serialized

    def _finalize_id_token(self, id_token, token, token_handler, request):
        """DOT's finalize_id_token (3.4.1), the same token and row (identity/tests/test_lean_switch_parity.py): signed
        with the key's kid and private key worked out once per key, where DOT computes the key's thumbprint and
        copies jwcrypto's header registry for every token; and the IDToken row INSERTed alone, where DOT wraps
        the one statement in a transaction."""
        claims, expiration_time = self.get_id_token_dictionary(token, token_handler, request)
        id_token.update(**claims)
        if "nonce" not in id_token and request.nonce:  # DOT's workaround for oauthlib bug #746
            id_token["nonce"] = request.nonce
        serialized = id_token_jws(request.client, id_token)
        request.access_token = request.id_token = self._save_id_token(id_token["jti"], request, expiration_time)
        return serialized

    def _load_id_token(self, token):
        signed = getattr(self, "_signed_id_token", None)
        if signed is not None and token == signed[0]:
            return signed[1]
        return super()._load_id_token(token)

    # ------------------------------------------------------------------ authorization

    # prompt=none: oauthlib asks these while validating the request, before DOT attaches the user.
    # AuthorizeView decides both itself (login_required for no session, consent_required for no
    # remembered consent), so here they only let validation go on.
    def validate_silent_login(self, request) -> bool:
        return True

    def validate_silent_authorization(self, request) -> bool:
        return True

    def _create_authorization_code(self, request, code, expires=None):
        grant = super()._create_authorization_code(request, code, expires)
        AuthorizationRecord.objects.create(
            code_checksum=checksum(code["code"]),
            application=request.client,
            user=request.user,
            sid=getattr(request, "gatehouse_sid", "") or "",
            amr=getattr(request, "gatehouse_amr", None) or ["pwd"],
            auth_time=getattr(request, "gatehouse_auth_time", None) or timezone.now(),
        )
        return grant

    # ------------------------------------------------------------------ grant and scopes (applications.token_policy)

    def validate_grant_type(self, client_id, grant_type, client, request, *args, **kwargs):
        if not grant_allowed(grant=request.client.authorization_grant_type, grant_type=grant_type):
            return False
        # DOT's own, for what it adds (the password grant's deprecation warning).
        return super().validate_grant_type(client_id, grant_type, client, request, *args, **kwargs)

    def validate_scopes(self, client_id, scopes, client, request, *args, **kwargs):
        if not super().validate_scopes(client_id, scopes, client, request, *args, **kwargs):
            return False
        if not scopes_within_limit(scopes=scopes, allowed_scopes=getattr(client, "allowed_scopes", ""),
                                   api_scopes=granted_api_scopes(client, request)):
            return False
        # The API the token is for (identity/oidc/resources.py), at /authorize and for client credentials.
        try:
            request.gatehouse_target = resolve_target(client=client, scopes=scopes, resources=body_resources(request),
                                                      request=request, grant_type=request.grant_type or "")
        except TargetError as exc:
            raise errors.CustomOAuth2Error(error=exc.error, description=exc.description, request=request) from None
        target = request.gatehouse_target
        if target is not None and request.grant_type == "client_credentials":
            if not scopes:
                request.scopes = list(target.scopes)
            request.resource = [target.api.identifier]  # stored on an opaque token for introspection
        return True

    def get_default_scopes(self, client_id, request, *args, **kwargs):
        # A request naming no scope gets the defaults the app may have, not a refusal.
        defaults = super().get_default_scopes(client_id, request, *args, **kwargs)
        return default_scopes_within_limit(
            defaults=defaults, allowed_scopes=getattr(getattr(request, "client", None), "allowed_scopes", ""))

    # ------------------------------------------------------------------ token endpoint

    # oauthlib asks about a code's grant six times in one token request (the dispatcher's scopes, the
    # code, its resource, the PKCE challenge and method, the redirect URI, the nonce), and DOT reads the
    # row each time. A code is unique (Grant.code), so the row is read once per request, kept on oauthlib's
    # request object, which lives for that one HTTP request. The code's single use is still enforced where
    # DOT enforces it: the DELETE in invalidate_authorization_code, which refuses a grant already gone.

    @staticmethod
    def _grant(code, request):
        """The grant row of `code` (None if there is none), read once per token request."""
        grants = getattr(request, "gatehouse_grants", None)
        if grants is None:
            grants = request.gatehouse_grants = {}
        if code not in grants:
            # With its user: validate_code puts the user on the request, and the ID token's claims read it.
            grants[code] = _GRANT_OF_CODE.first(code)
        return grants[code]

    def _client_grant(self, code, client, request):
        """As DOT's `Grant.objects.get(code=code, application=client)`: the grant, if it is this client's."""
        grant = self._grant(code, request)
        if grant is None or client is None or grant.application_id != client.pk:
            raise get_grant_model().DoesNotExist
        return grant

    def get_authorization_code_scopes(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return utils.scope_to_list(grant.scope) if grant is not None and grant.scope else []

    def get_authorization_code_nonce(self, client_id, code, redirect_uri, request):
        grant = self._grant(code, request)
        return grant.nonce if grant is not None and grant.nonce else None

    def get_code_challenge(self, code, request):
        return self._client_grant(code, request.client, request).code_challenge or None

    def get_code_challenge_method(self, code, request):
        return self._client_grant(code, request.client, request).code_challenge_method or None

    def confirm_redirect_uri(self, client_id, code, redirect_uri, client, *args, **kwargs):
        request = args[0] if args else kwargs.get("request")
        if self._client_grant(code, client, request).redirect_uri_allowed(redirect_uri):
            return True
        # oauthlib answers a mismatch with invalid_request; RFC 6749 §5.2 names it invalid_grant
        # ("does not match the redirection URI used in the authorization request"). oauthlib's
        # token grant turns any OAuth2Error raised here into the error response.
        raise errors.InvalidGrantError(
            description="The redirect_uri does not match the one used in the authorization request.",
            request=request)

    def validate_code(self, client_id, code, client, request, *args, **kwargs):
        """DOT's check (the client's grant, not expired: its scopes, user, nonce and claims go onto the
        request), on the grant read once."""
        try:
            grant = self._client_grant(code, client, request)
        except get_grant_model().DoesNotExist:
            grant = None
        if grant is None or grant.is_expired():
            self._revoke_replayed_code(code=code, client=client, request=request)
            return False
        if status_refusal(user=grant.user, application=client) is not None:
            # The user was disabled since the code was issued (the app and org were checked with the client). The
            # services that disable delete unused codes too; this holds where something else changed the status.
            return False
        request.scopes = grant.scope.split(" ")
        request.user = grant.user
        if grant.nonce:
            request.nonce = grant.nonce
        if grant.claims:
            request.claims = json.loads(grant.claims)
        return self._target_still_granted(request, client, grant.resource)

    def invalidate_authorization_code(self, client_id, code, request, *args, **kwargs):
        """DOT's single use of a code: delete the client's grant of it, and refuse the code (invalid_grant) when
        there is none left to delete, as when a parallel request redeemed it first. One DELETE: DOT's
        QuerySet.delete() first asks Django's deletion collector what depends on a grant (nothing does, and no
        signal listens: identity/tests/test_oidc_code_flow.py checks both) and wraps the statement in a
        transaction of its own, which cost a flow more CPU than the DELETE itself (bench/RESULTS.md, session 15)."""
        if not lean_paths_enabled():
            return super().invalidate_authorization_code(client_id, code, request, *args, **kwargs)
        grant_model = get_grant_model()
        using = router.db_for_write(grant_model)  # as QuerySet.delete() picks it
        if not grant_model.objects.using(using).filter(code=code, application=request.client)._raw_delete(using):
            raise errors.InvalidGrantError(request=request)

    def _check_and_set_request_resource(self, request):
        """DOT's RFC 8707 handling of `resource` at the token endpoint (3.4.1), on the code's grant read once:
        DOT reads the grant again here, inside the saving transaction. A grant's resource never changes after
        it is written, so the row already read answers the same. Refresh and client credentials are DOT's."""
        if request.grant_type != "authorization_code":
            return super()._check_and_set_request_resource(request)
        resource = getattr(request, "resource", None)
        if isinstance(resource, str):
            # oauthlib keeps the last of repeated body parameters: RFC 8707 allows several.
            body_values = [value for key, value in (getattr(request, "decoded_body", None) or [])
                           if key == "resource"]
            if len(body_values) > 1:
                resource = body_values
        if isinstance(resource, list):
            request.resource = resource
        elif isinstance(resource, str) and resource.strip():
            request.resource = [resource]
        else:
            request.resource = []
        self._validate_resource_uris(request, request.resource)
        grant = self._grant(request.code, request)
        granted = (grant.resource or []) if grant is not None and grant.application_id == request.client.pk else []
        if request.resource and granted:
            for res in request.resource:
                if res not in granted:
                    raise errors.CustomOAuth2Error(
                        error="invalid_target",
                        description=(f"The requested resource '{res}' is not allowed. Token request cannot "
                                     "escalate resource permissions beyond the original authorization grant"),
                        request=request)
        elif granted:
            self._validate_resource_uris(request, granted)
            request.resource = granted

    @staticmethod
    def _target_still_granted(request, client, resources) -> bool:
        """The API a code or refresh token was issued for (named by its resource, else by its API
        scopes), if the client may still have tokens for it: the API may have been deleted, or the
        app's grant withdrawn, since. The token then names the API as its resource (introspection)."""
        try:
            target = resolve_target(client=client, scopes=request.scopes or (), resources=resources or [],
                                    request=request)
        except TargetError:
            return False
        request.gatehouse_target = target
        if target is not None and not resources and not body_resources(request):
            request.resource = [target.api.identifier]
        return True

    def _revoke_replayed_code(self, *, code: str, client: Application, request) -> None:
        """A code presented again after it was redeemed may have been stolen: revoke what it produced."""
        record = AuthorizationRecord.objects.filter(
            code_checksum=checksum(code), application=client, redeemed_at__isnull=False
        ).first()
        if record is None or record.token_family is None:
            return
        with transaction.atomic():
            get_refresh_token_model().revoke_family(record.token_family)
            audit_record(action="token.code_replayed", org=client.org, target=client,
                         metadata={"client_id": client.client_id, "user_id": record.user_id,
                                   "token_family": str(record.token_family)})
        logger.warning("Authorization code replayed for client %s; its tokens were revoked", client.client_id)

    def save_bearer_token(self, token, request, *args, **kwargs):
        target = getattr(request, "gatehouse_target", None)
        if request.grant_type == "client_credentials" and target is not None and target.api.is_jwt:
            # A machine's JWT is verified by its API from JWKS and lives minutes: nothing to store.
            return None
        if request.grant_type == "client_credentials" and "refresh_token" not in token:
            # One INSERT (an access token, nothing else): atomic on its own in autocommit, so
            # DOT's BEGIN/COMMIT around it would only add two round trips.
            return self._save_bearer_token(token, request, *args, **kwargs)
        return super().save_bearer_token(token, request, *args, **kwargs)

    def _create_refresh_token(self, request, refresh_token_code, access_token, previous_refresh_token):
        refresh_token = super()._create_refresh_token(request, refresh_token_code, access_token,
                                                      previous_refresh_token)
        request.gatehouse_new_refresh_token = refresh_token  # its family, for the code's record below
        return refresh_token

    def _save_bearer_token(self, token, request, *args, **kwargs):
        super()._save_bearer_token(token, request, *args, **kwargs)
        if request.grant_type == "authorization_code" and "refresh_token" in token:
            # DOT wrote the code's refresh token through _create_refresh_token just now.
            AuthorizationRecord.objects.filter(code_checksum=checksum(request.code)).update(
                token_family=request.gatehouse_new_refresh_token.token_family, redeemed_at=timezone.now()
            )

    def validate_refresh_token(self, refresh_token, client, request, *args, **kwargs):
        rt = self._load_refresh_token(refresh_token)
        if rt is None or rt.revoked is not None:
            # Unknown, or revoked (rotated away, or revoked outright): reuse protection and the
            # grace period are DOT's own code. Looked at first: DOT deletes the evidence (the
            # family's access tokens) when it revokes the family.
            reused = self._superseded(rt, client)
            if not super().validate_refresh_token(refresh_token, client, request, *args, **kwargs):
                if reused is not None:
                    audit_record(action="token.refresh_reused", org=client.org, target=reused.user,
                                 metadata={"client_id": client.client_id, "token_family": str(reused.token_family)})
                return False
        elif not self._validate_live_refresh_token(rt, refresh_token, client, request):
            return False
        rt = request.refresh_token_instance
        request.scopes = request.scopes or (rt.access_token.scope.split() if rt.access_token else [])
        if not self._target_still_granted(request, client, rt.resource):
            return False
        decision = application_access(user=request.user, application=client)
        if not decision.allowed:
            # A membership suspended (or a user disabled) since sign-in stops at the next refresh.
            get_refresh_token_model().revoke_family(request.refresh_token_instance.token_family)
            audit_record(action="token.refresh_refused", actor=None, org=client.org, target=request.user,
                         metadata={"client_id": client.client_id, "reason": decision.reason})
            return False
        return True

    def _load_refresh_token(self, refresh_token: str):
        """DOT's lookup in validate_refresh_token (by checksum, the unrevoked row first, else the
        latest revoked one, with its access token), with its user and application (and org) joined
        in: DOT reads both right after, one SELECT each."""
        return (
            get_refresh_token_model().objects.filter(token_checksum=checksum(refresh_token))
            .select_related("access_token", "user", "application__org")
            .order_by(F("revoked").desc(nulls_first=True)).first()
        )

    @staticmethod
    def _validate_live_refresh_token(rt, refresh_token: str, client, request) -> bool:
        """DOT's validate_refresh_token (3.4.1) for an unrevoked token, on the row already loaded,
        with the application's own refresh_token_lifetime in place of the deployment's when set."""
        if rt.access_token is None:
            return False
        own_lifetime = getattr(client, "refresh_token_lifetime", None)
        if own_lifetime:
            # The app's own lifetime, counted from this refresh token's issue: each refresh
            # rotates the token, so an app used within its lifetime stays signed in.
            if rt.created + timedelta(seconds=own_lifetime) <= timezone.now():
                return False
        else:
            expire_delta = refresh_token_expire_timedelta()
            if expire_delta and rt.access_token.expires + expire_delta <= timezone.now():
                return False
        request.user = rt.user
        request.refresh_token = refresh_token
        request.refresh_token_instance = rt
        return rt.application == client

    @staticmethod
    def _superseded(stale, client: Application):
        """The presented token if it was already rotated away (consumed to mint a successor).

        Only such a token coming back suggests theft; one revoked by an admin action or logout
        is expected to return now and then, and is not an alarm.
        """
        if stale is None or stale.revoked is None or stale.application_id != client.pk:
            return None
        return stale if get_access_token_model().objects.filter(source_refresh_token=stale).exists() else None
