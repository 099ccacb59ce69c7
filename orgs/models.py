"""Organizations and the memberships that tie users to them."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# Slugs that would collide with console or site paths, or that read as something official.
RESERVED_SLUGS = frozenset(
    {
        "platform", "new", "admin", "api", "account", "accounts", "console", "login", "logout",
        "oauth", "o", "static", "media", "health", "well-known", "settings", "system", "gatehouse",
        "www", "help", "support", "root", "operator", "auth", "signup", "register",
    }
)


class OrgScopedQuerySet(models.QuerySet):
    """Every tenant read goes through for_org(): an org-owned row is never read without its org."""

    def for_org(self, org):
        return self.filter(org=org)


class Organization(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    class MfaPolicy(models.TextChoices):
        OFF = "off", _("Off")
        CONSOLE_ROLES = "console_roles", _("Required for console roles (owners, admins, auditors)")
        EVERYONE = "everyone", _("Required for everyone")

    # Limits of session_max_age_minutes: 5 minutes to 90 days.
    SESSION_MAX_AGE_LIMITS = (5, 90 * 24 * 60)

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=150)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    # Email members when they sign in from a device they have not used recently.
    notify_new_device_sign_in = models.BooleanField(default=False)
    # Stored now; enforced when MFA sign-in lands.
    mfa_policy = models.CharField(max_length=16, choices=MfaPolicy.choices, default=MfaPolicy.OFF)
    # Maximum authentication age for this org's console (and, later, its apps); null: the platform's
    # session lifetime is the only limit.
    session_max_age_minutes = models.PositiveIntegerField(
        null=True, blank=True,
        validators=[MinValueValidator(SESSION_MAX_AGE_LIMITS[0]), MaxValueValidator(SESSION_MAX_AGE_LIMITS[1])],
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Membership(models.Model):
    """A user's place in one organization: a role, and whether it is in force."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        ADMIN = "admin", _("Admin")
        AUDITOR = "auditor", _("Auditor")
        MEMBER = "member", _("Member")

    class Status(models.TextChoices):
        INVITED = "invited", _("Invited")
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.MEMBER)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "org"], name="membership_unique_per_org")]
        ordering = ["org__name"]

    def __str__(self) -> str:
        return f"{self.user} in {self.org} ({self.role}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE
