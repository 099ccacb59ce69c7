"""The org-owned OIDC client, swapped in for django-oauth-toolkit's Application."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AbstractApplication
from oauth2_provider.validators import AllowedURIValidator

from directory.models import Group
from orgs.models import Organization, OrgScopedQuerySet


class ApplicationQuerySet(OrgScopedQuerySet):
    pass


def application_usable(*, status: str, org_status: str) -> bool:
    """An active application of an active org: the rule behind is_usable (DOT's hook) and the lean
    token paths, which read both statuses from a row (applications/token_policy.py)."""
    return status == Application.Status.ACTIVE and org_status == Organization.Status.ACTIVE


class Application(AbstractApplication):
    """An OIDC client owned by one organization. Its kind decides its client type and grant."""

    class Kind(models.TextChoices):
        WEB = "web", _("Web application (confidential)")
        SPA = "spa", _("Single-page application (public, PKCE)")
        NATIVE = "native", _("Native or mobile application (public, PKCE)")
        MACHINE = "machine", _("Machine to machine (client credentials)")

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DISABLED = "disabled", _("Disabled")

    # kind → (DOT client type, DOT grant type)
    KIND_GRANTS = {
        Kind.WEB: (AbstractApplication.CLIENT_CONFIDENTIAL, AbstractApplication.GRANT_AUTHORIZATION_CODE),
        Kind.SPA: (AbstractApplication.CLIENT_PUBLIC, AbstractApplication.GRANT_AUTHORIZATION_CODE),
        Kind.NATIVE: (AbstractApplication.CLIENT_PUBLIC, AbstractApplication.GRANT_AUTHORIZATION_CODE),
        Kind.MACHINE: (AbstractApplication.CLIENT_CONFIDENTIAL, AbstractApplication.GRANT_CLIENT_CREDENTIALS),
    }

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="applications")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    description = models.CharField(max_length=500, blank=True)
    # Empty means every member of the org may sign in; otherwise only members of these groups.
    allowed_groups = models.ManyToManyField(Group, blank=True, related_name="applications")
    # Public kinds always need PKCE; a web app can opt in (see applications/oauth_policy.py).
    require_pkce = models.BooleanField(default=False)
    # Seconds; None means the deployment's default (OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"]).
    access_token_lifetime = models.PositiveIntegerField(null=True, blank=True)
    # Seconds; None means the deployment's default (OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"]).
    refresh_token_lifetime = models.PositiveIntegerField(null=True, blank=True)
    # Space-separated scopes the app may ask for; empty means every scope the provider supports.
    allowed_scopes = models.CharField(max_length=500, blank=True)
    # After a rotation with an overlap, the old secret's hash keeps working until this moment.
    previous_client_secret = models.CharField(max_length=255, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Scopes of the org's registered APIs this app may ask for (the same org's only; services check it).
    api_scopes = models.ManyToManyField("ApiScope", blank=True, related_name="applications")
    # OIDC Back-Channel Logout 1.0: where a signed logout token is POSTed when a session it was used in ends.
    backchannel_logout_uri = models.URLField(max_length=500, blank=True)
    backchannel_logout_session_required = models.BooleanField(default=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta(AbstractApplication.Meta):
        swappable = "OAUTH2_PROVIDER_APPLICATION_MODEL"
        ordering = ["name"]

    def save(self, *args, **kwargs):
        self.client_type, self.authorization_grant_type = self.KIND_GRANTS[self.kind]
        if not self.algorithm and self.kind != self.Kind.MACHINE:
            self.algorithm = self.RS256_ALGORITHM
        super().save(*args, **kwargs)

    @property
    def is_confidential(self) -> bool:
        return self.client_type == self.CLIENT_CONFIDENTIAL

    def is_usable(self, request) -> bool:
        return application_usable(status=self.status, org_status=self.org.status)

    @cached_property
    def jwk_key(self):
        """ID tokens are signed with the deployment's active key from the database.

        Cached on the instance (one token request): DOT reads it twice per ID token, once for the
        header's kid and once to sign, and both must be the same key even if a rotation commits
        in between.
        """
        from identity.signing import signing_key_active_jwk

        return signing_key_active_jwk()

    def redirect_uri_allowed(self, uri: str) -> bool:
        """Exact match, except that native apps' loopback URIs match on any port (RFC 8252 §7.3)."""
        if self.kind == self.Kind.NATIVE:
            return super().redirect_uri_allowed(uri)
        return uri in self.redirect_uris.split()

    def post_logout_redirect_uri_allowed(self, uri: str) -> bool:
        """Exact match, port included, except that native apps' loopback URIs match on any port (RFC 8252
        §7.3, as for redirect URIs): DOT would also let a web or single-page app's loopback URI change port."""
        if self.kind == self.Kind.NATIVE:
            return super().post_logout_redirect_uri_allowed(uri)
        return uri in self.post_logout_redirect_uris.split()

    def get_allowed_schemes(self) -> list[str]:
        """Native apps may also use private-use schemes in reverse-domain form (RFC 8252 §7.1)."""
        schemes = list(super().get_allowed_schemes())
        if self.kind == self.Kind.NATIVE:
            for uri in self.redirect_uris.split():
                scheme = uri.split(":", 1)[0].lower()
                if "." in scheme and ":" in uri and scheme not in schemes:
                    schemes.append(scheme)
        return schemes

    def clean(self):
        # DOT's clean() insists on OIDC_RSA_PRIVATE_KEY for RS256; our keys live in the database.
        algorithm, self.algorithm = self.algorithm, self.NO_ALGORITHM
        try:
            super().clean()
        finally:
            self.algorithm = algorithm
        # DOT checks redirect URIs but not post-logout ones; hold them to the same rules.
        validator = AllowedURIValidator(set(self.get_allowed_schemes()), name="post-logout redirect URI",
                                        allow_path=True, allow_query=True)
        for uri in self.post_logout_redirect_uris.split():
            try:
                validator(uri)
            except ValidationError as exc:
                raise ValidationError({"post_logout_redirect_uris": exc.messages}) from None


class ApiQuerySet(OrgScopedQuerySet):
    pass


class Api(models.Model):
    """A resource server registered by an org: its identifier is the tokens' `aud` and the `resource`
    value (RFC 8707), unique across the deployment so that no two orgs' tokens share an audience.

    It authenticates to introspection with its own client id and secret (stored hashed)."""

    class TokenFormat(models.TextChoices):
        JWT = "jwt", _("JWT (RFC 9068), verified by the API from the JWKS")
        OPAQUE = "opaque", _("Opaque, checked by the API through introspection")

    DEFAULT_LIFETIME = 600  # seconds: short, because a JWT cannot be recalled before it expires

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="apis")
    name = models.CharField(max_length=100)
    identifier = models.CharField(max_length=255, unique=True)
    description = models.CharField(max_length=500, blank=True)
    token_format = models.CharField(max_length=16, choices=TokenFormat.choices, default=TokenFormat.JWT)
    access_token_lifetime = models.PositiveIntegerField(default=DEFAULT_LIFETIME)
    client_id = models.CharField(max_length=100, unique=True)
    client_secret = models.CharField(max_length=255)  # a ClientSecretHasher hash
    created_at = models.DateTimeField(default=timezone.now)

    objects = ApiQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.identifier})"

    @property
    def is_jwt(self) -> bool:
        return self.token_format == self.TokenFormat.JWT


class ApiScope(models.Model):
    """A scope an API defines (`orders:read`), described on the consent page. A scope's name is unique
    within its org, so a requested scope names exactly one API."""

    api = models.ForeignKey(Api, on_delete=models.CASCADE, related_name="scopes")
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=100)
    description = models.CharField(max_length=200)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "name"], name="api_scope_name_unique_in_org")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ApiKeyQuerySet(OrgScopedQuerySet):
    pass


class ApiKey(models.Model):
    """A management-API credential of one org: shown once, stored as a hash, found by its prefix.

    Scopes are permission names from orgs/permissions.py, never more than its creator held when
    creating it. An empty IP allow-list means any address.
    """

    # Null for a platform key (an operator's, made with `manage.py create_api_key --platform`): it calls the
    # platform endpoints (/api/v1/platform/…) and no org's.
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="api_keys")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, null=True, blank=True,
                                    related_name="api_keys")
    name = models.CharField(max_length=100)
    # The visible, unique start of the key ("gh_" + random); the lookup key.
    prefix = models.CharField(max_length=32, unique=True)
    key_hash = models.CharField(max_length=128)
    scopes = models.JSONField(default=list)
    allowed_ips = models.JSONField(default=list)  # CIDR strings
    expires_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   blank=True, related_name="+")
    # Paused, not revoked: reactivating brings the same key back (revocation is for good).
    deactivated_at = models.DateTimeField(null=True, blank=True)
    # Made by an operator's `manage.py create_api_key`, not by a person in the console or the API: such
    # a key holds its scopes as they are. A person's key never holds more than its creator does now, and
    # a key whose creator is gone (created_by nulled) holds nothing.
    created_by_system = models.BooleanField(default=False)

    objects = ApiKeyQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"


class AppRole(models.Model):
    """A role an application defines (`app:admin`), granted to groups of the app's org."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="roles")
    key = models.CharField(max_length=100)
    name = models.CharField(max_length=150, blank=True)
    groups = models.ManyToManyField(Group, blank=True, related_name="app_roles")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application", "key"], name="app_role_key_unique")]
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Consent(models.Model):
    """A user's remembered yes to an application's scopes; withdrawn from the account page."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="consents")
    scopes = models.CharField(max_length=500)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "application"], name="consent_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.application}: {self.scopes}"

    def covers(self, scopes) -> bool:
        return set(scopes) <= set(self.scopes.split())


class AuthorizationRecord(models.Model):
    """What DOT forgets about an authorization code: the browser session it came from, and the
    tokens it was redeemed for — so ID tokens carry sid/amr/auth_time and a replayed code can
    revoke what it produced (RFC 6749 §4.1.2)."""

    code_checksum = models.CharField(max_length=64, unique=True)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    sid = models.CharField(max_length=64, blank=True)
    amr = models.JSONField(default=list)
    auth_time = models.DateTimeField()
    token_family = models.UUIDField(null=True, blank=True, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    redeemed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Back-channel logout finds the applications used in a session by its sid.
        indexes = [models.Index(fields=["sid", "application"], name="authz_record_sid_app")]

    def __str__(self) -> str:
        return f"code for {self.application_id} by user {self.user_id}"
