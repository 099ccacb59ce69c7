"""The org-owned OIDC client, swapped in for django-oauth-toolkit's Application."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import AbstractApplication

from directory.models import Group
from orgs.models import Organization, OrgScopedQuerySet


class ApplicationQuerySet(OrgScopedQuerySet):
    pass


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
        return self.status == self.Status.ACTIVE and self.org.is_active
