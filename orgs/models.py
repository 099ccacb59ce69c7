"""Organizations and the memberships that tie users to them."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
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
    # Who must sign in with a second factor (identity/mfa/policy.py enforces it at sign-in).
    mfa_policy = models.CharField(max_length=16, choices=MfaPolicy.choices, default=MfaPolicy.OFF)
    # Days a member the policy covers may still skip setting up a factor, counted from the later of
    # mfa_required_since and their membership's start; 0: set one up at the next sign-in.
    MFA_GRACE_DAYS_LIMITS = (0, 30)
    mfa_grace_days = models.PositiveSmallIntegerField(
        default=7,
        validators=[MinValueValidator(MFA_GRACE_DAYS_LIMITS[0]), MaxValueValidator(MFA_GRACE_DAYS_LIMITS[1])])
    # When the policy last came to cover more people (off → on, console roles → everyone); null while off.
    mfa_required_since = models.DateTimeField(null=True, blank=True)
    # Maximum authentication age for this org's console (and, later, its apps); null: the platform's
    # session lifetime is the only limit.
    session_max_age_minutes = models.PositiveIntegerField(
        null=True, blank=True,
        validators=[MinValueValidator(SESSION_MAX_AGE_LIMITS[0]), MaxValueValidator(SESSION_MAX_AGE_LIMITS[1])],
    )
    # Failed sign-ins that lock an email address when the flow started from this org's app or
    # console; null: the platform's GATEHOUSE_LOCKOUT_THRESHOLD.
    LOCKOUT_THRESHOLD_LIMITS = (3, 50)
    lockout_threshold = models.PositiveSmallIntegerField(
        null=True, blank=True,
        validators=[MinValueValidator(LOCKOUT_THRESHOLD_LIMITS[0]), MaxValueValidator(LOCKOUT_THRESHOLD_LIMITS[1])],
    )
    # Days the audit log keeps an event before the daily purge removes it (audit.services.audit_purge);
    # null: kept for ever.
    audit_retention_days = models.PositiveIntegerField(null=True, blank=True)
    # Fail closed for this org's API keys: none may be created without an IP allow-list, and one without
    # a list is refused from every address (applications/apikey_selectors.py). The platform's
    # GATEHOUSE_API_KEYS_REQUIRE_ALLOWLIST, when set, requires it of every org whatever this says.
    api_keys_require_allowlist = models.BooleanField(default=False)
    # Branding of the hosted pages reached from this org's applications (orgs/branding.py).
    display_name = models.CharField(max_length=150, blank=True)
    accent_color = models.CharField(
        max_length=7, blank=True,
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #rrggbb."))],
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

    @property
    def brand_name(self) -> str:
        return self.display_name or self.name


class OrgLogo(models.Model):
    """An org's logo, kept in the database so every web process serves the same bytes.

    Only raster formats that were decoded and re-checked on upload are stored (never SVG, which can
    carry script); it is served from its own URL with nosniff and a CSP that allows nothing.
    """

    org = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="logo")
    content = models.BinaryField()
    content_type = models.CharField(max_length=32)
    digest = models.CharField(max_length=64)  # SHA-256 of content: the cache-busting version
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    uploaded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"logo of {self.org}"


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
    # The org's own identifier for this person (HR number); set by admins or CSV import.
    employee_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "org"], name="membership_unique_per_org"),
            # An employee id names one member of the org (the services check it first, with a message);
            # also the index their checks and the CSV import look ids up by.
            models.UniqueConstraint(fields=["org", "employee_id"], condition=~models.Q(employee_id=""),
                                    name="membership_employee_id_unique_in_org"),
        ]
        ordering = ["org__name"]
        # The console's users list at 100,000 members: the "created" sort and the role/status filters.
        indexes = [
            models.Index(fields=["org", "-created_at", "-id"], name="membership_org_created"),
            models.Index(fields=["org", "role"], name="membership_org_role"),
            models.Index(fields=["org", "status"], name="membership_org_status"),
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.org} ({self.role}, {self.status})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE
