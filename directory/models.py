"""The global user identity, and org-scoped groups."""

import uuid

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from directory.time_zones import DEFAULT_TIME_ZONE, validate_time_zone
from orgs.models import Organization, OrgScopedQuerySet


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        return self.get(email__iexact=username)

    def _create(self, email, password, **fields):
        if not email:
            raise ValueError("A user needs an email address.")
        user = self.model(email=self.normalize_email(email).strip(), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **fields):
        fields.setdefault("is_superuser", False)
        return self._create(email, password, **fields)

    def create_superuser(self, email, password=None, **fields):
        fields["is_superuser"] = True
        return self._create(email, password, **fields)


class User(AbstractBaseUser):
    """One person, across every organization: one email, one password, one set of MFA devices.

    `public_id` is the OIDC subject: stable for life and unrelated to the database id.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        DISABLED = "disabled", _("Disabled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    email = models.EmailField(_("email"), max_length=254)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    email_verified = models.BooleanField(default=False)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    # A platform operator: sees every organization, belongs to none.
    is_superuser = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    # The IANA zone this person reads times in (identity/time_zone.py activates it for their requests).
    time_zone = models.CharField(_("time zone"), max_length=64, default=DEFAULT_TIME_ZONE,
                                 validators=[validate_time_zone])

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]
        ordering = ["email"]
        # The console's users list sorts by these (directory/selectors.py user_list). Its prefix search
        # also has PostgreSQL-only UPPER(...) text_pattern_ops indexes, made in migration 0004.
        indexes = [
            models.Index(fields=["email"], name="user_email_order"),
            models.Index(fields=["full_name"], name="user_full_name_order"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def is_staff(self) -> bool:
        return self.is_superuser

    @property
    def display_name(self) -> str:
        return self.full_name or self.email

    def set_password(self, raw_password):
        super().set_password(raw_password)
        if raw_password is not None:
            self.password_changed_at = timezone.now()

    def has_perm(self, perm, obj=None) -> bool:
        # Gatehouse does not use Django's model permissions; console access is orgs.permissions.
        return self.is_superuser

    def has_module_perms(self, app_label) -> bool:
        return self.is_superuser


class Group(models.Model):
    """A set of users inside one organization; apps can be limited to groups and grant roles to them."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="groups")
    name = models.CharField(max_length=150)
    slug = models.SlugField(max_length=80)
    description = models.CharField(max_length=500, blank=True)
    members = models.ManyToManyField(User, through="GroupMembership", related_name="directory_groups")
    created_at = models.DateTimeField(default=timezone.now)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["org", "slug"], name="group_slug_unique_in_org")]
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroupMembership(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="group_memberships")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["group", "user"], name="group_membership_unique")]

    def __str__(self) -> str:
        return f"{self.user} in {self.group}"


class UserImport(models.Model):
    """One CSV upload of users into an org: validated rows waiting for confirmation, then a
    background job that applies them row by row and records each row's outcome."""

    class Status(models.TextChoices):
        PREVIEW = "preview", _("Waiting for confirmation")
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")
        CANCELLED = "cancelled", _("Cancelled")

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="user_imports")
    created_by = models.ForeignKey(User, on_delete=models.SET_NULL, null=True, related_name="+")
    filename = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREVIEW)
    send_invitations = models.BooleanField(default=False)
    # Parsed, validated rows: [{"line": 2, "email": ..., "name": ..., "role": ..., "groups": [...],
    # "employee_id": ..., "action": "create" | "update"}]; per-row problems found at preview time.
    rows = models.JSONField(default=list)
    row_errors = models.JSONField(default=list)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)
    # Per-row outcome once applied: [{"line": 2, "email": ..., "outcome": "created", "detail": ""}]
    results = models.JSONField(default=list)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = OrgScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"import {self.filename} into {self.org} ({self.status})"
