"""`manage.py seed_demo`: load the demo organizations, people and applications; safe to run again."""

import os
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from applications.api_services import api_create, api_update, application_api_scopes_set
from applications.hashers import ClientSecretHasher
from applications.models import Api, Application
from applications.services import application_create
from audit.services import audit_record
from config.exceptions import DomainError
from directory.models import Group, User
from directory.services import group_create, group_member_add, user_create
from orgs.models import Membership, Organization
from orgs.services import membership_create, organization_create

# Idempotency and audit: rows are found by natural key (org slug, email in any case, group slug within
# its org, client id, API identifier, scope name within its API) and only missing ones are created,
# through the services, so a first run audits each creation as any other would. A row that exists is left
# as it is, except that a demo password or client secret that no longer verifies is reset (audited as
# user.password_reset, application.secret_rotated or api.secret_rotated) so the printed credentials stay
# true. A run over data already in the demo state therefore writes nothing at all, audit rows included.

ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD_ENV = "GATEHOUSE_ADMIN_PASSWORD"
DEFAULT_ADMIN_PASSWORD = "gatehouse-admin"
DEMO_PASSWORD = "demo-password-123"

ORGS = (("acme", "Acme Corp"), ("globex", "Globex"))


@dataclass(frozen=True)
class DemoMember:
    email: str
    full_name: str
    org: str
    role: str


MEMBERS = (
    DemoMember("alice@acme.test", "Alice Anderson", "acme", Membership.Role.OWNER),
    DemoMember("bob@acme.test", "Bob Brown", "acme", Membership.Role.MEMBER),
    DemoMember("carol@globex.test", "Carol Chen", "globex", Membership.Role.ADMIN),
)

# (org slug, group slug, group name, member emails)
GROUPS = (("acme", "engineering", "Engineering", ("bob@acme.test",)),)


@dataclass(frozen=True)
class DemoApp:
    org: str
    name: str
    kind: str
    client_id: str
    secret: str | None = None
    redirect_uris: tuple[str, ...] = ()
    post_logout_redirect_uris: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()


APPS = (
    DemoApp("acme", "HR Portal", Application.Kind.WEB, "hr-portal", secret="hr-portal-secret",
            redirect_uris=("http://127.0.0.1:4003/auth/callback",),
            post_logout_redirect_uris=("http://127.0.0.1:4003/",)),
    DemoApp("acme", "Project Tracker", Application.Kind.SPA, "project-tracker",
            redirect_uris=("http://127.0.0.1:4001/callback",), allowed_origins=("http://127.0.0.1:4001",)),
    DemoApp("acme", "Reports", Application.Kind.MACHINE, "acme-reports", secret="acme-reports-secret"),
)


@dataclass(frozen=True)
class DemoApi:
    org: str
    name: str
    identifier: str
    secret: str  # the API's own introspection secret
    scopes: tuple[tuple[str, str], ...]  # (name, description shown on the consent page)
    grants: tuple[tuple[str, tuple[str, ...]], ...]  # (client id, scope names it is granted)
    token_format: str = Api.TokenFormat.JWT
    access_token_lifetime: int = 600


APIS = (
    # The demo RP (make demo-rp) calls it as HR Portal with a person's token; Reports with its own.
    # Nobody is granted orders:write, so the demo can show a 403 insufficient_scope.
    DemoApi("acme", "Orders API", "https://orders.acme.test", "orders-api-secret",
            scopes=(("orders:read", "See your orders"), ("orders:write", "Place and change orders")),
            grants=(("acme-reports", ("orders:read",)), ("hr-portal", ("orders:read",)))),
)


@dataclass
class Tally:
    """What a run did, row by row, for the summary."""

    created: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)
    reset: list[str] = field(default_factory=list)


def _refuse(message: str) -> CommandError:
    return CommandError(message, returncode=2)


def _ensure_org(slug: str, name: str, tally: Tally) -> Organization:
    org = Organization.objects.filter(slug=slug).first()
    if org is not None:
        tally.present.append(f"organization {slug}")
        return org
    org = organization_create(slug=slug, name=name, actor=None)
    tally.created.append(f"organization {slug}")
    return org


def _ensure_user(email: str, full_name: str, password: str, tally: Tally, *, operator: bool = False) -> User:
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        # Demo passwords are deliberately simple, so the password policy is skipped here and only here.
        user = user_create(email=email, password=password, full_name=full_name, is_superuser=operator,
                           email_verified=True, check_password_policy=False, actor=None)
        tally.created.append(f"{'operator' if operator else 'user'} {email}")
        return user
    tally.present.append(f"user {email}")
    if not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password", "password_changed_at", "updated_at"])
        audit_record(action="user.password_reset", actor=None, target=user, metadata={"by": "seed_demo"})
        tally.reset.append(f"password of {email}")
    return user


def _ensure_membership(org: Organization, user: User, role: str, tally: Tally) -> None:
    label = f"membership {user.email} in {org.slug}"
    if Membership.objects.for_org(org).filter(user=user).exists():
        tally.present.append(label)
        return
    membership_create(org=org, user=user, role=role, actor=None)
    tally.created.append(f"{label} ({role})")


def _ensure_group(org: Organization, slug: str, name: str, members: list[User], tally: Tally) -> None:
    group = Group.objects.for_org(org).filter(slug=slug).first()
    if group is None:
        group = group_create(org=org, name=name, slug=slug, actor=None)
        tally.created.append(f"group {org.slug}/{slug}")
    else:
        tally.present.append(f"group {org.slug}/{slug}")
    for user in members:
        label = f"{user.email} in group {org.slug}/{slug}"
        if group.memberships.filter(user=user).exists():
            tally.present.append(label)
        else:
            group_member_add(group=group, user=user, actor=None)
            tally.created.append(label)


def _ensure_application(org: Organization, spec: DemoApp, tally: Tally) -> None:
    app = Application.objects.filter(client_id=spec.client_id).select_related("org").first()
    if app is None:
        application_create(org=org, name=spec.name, kind=spec.kind, redirect_uris=spec.redirect_uris,
                           client_id=spec.client_id, client_secret=spec.secret, actor=None,
                           post_logout_redirect_uris=spec.post_logout_redirect_uris,
                           allowed_origins=spec.allowed_origins)
        tally.created.append(f"application {spec.client_id}")
        return
    if app.org_id != org.pk:
        # Resetting the secret of another org's client would hand its credentials to the demo README.
        raise _refuse(f"The client id “{spec.client_id}” belongs to an application in {app.org.slug}, "
                      f"not {org.slug}; rename or delete it, then run seed_demo again.")
    tally.present.append(f"application {spec.client_id}")
    if spec.secret and app.is_confidential and not check_password(spec.secret, app.client_secret):
        app.client_secret = spec.secret  # hashed by DOT's ClientSecretField on save
        app.hash_client_secret = True
        app.save(update_fields=["client_secret", "hash_client_secret", "updated"])
        audit_record(action="application.secret_rotated", actor=None, org=org, target=app,
                     metadata={"by": "seed_demo"})
        tally.reset.append(f"secret of {spec.client_id}")


def _hashed_api_secret(secret: str) -> str:
    # The hasher api_services uses for the secrets it generates, so introspection checks it the same way.
    return make_password(secret, hasher=ClientSecretHasher.algorithm)


def _ensure_api(org: Organization, spec: DemoApi, tally: Tally) -> Api:
    label = f"API {spec.identifier}"
    api = Api.objects.filter(identifier=spec.identifier).select_related("org").first()
    if api is None:
        api = api_create(org=org, name=spec.name, identifier=spec.identifier, scopes=spec.scopes,
                         token_format=spec.token_format, access_token_lifetime=spec.access_token_lifetime,
                         actor=None).api
        # api_create generates a secret to show once; the demo's is printed in the README instead. The
        # api.created row above already records the API coming into being, secret included, so replacing
        # the generated secret in the same transaction is not a rotation anyone needs to audit.
        Api.objects.filter(pk=api.pk).update(client_secret=_hashed_api_secret(spec.secret))
        tally.created.append(label)
        return api
    if api.org_id != org.pk:
        # Identifiers are unique across the deployment; an API of another org keeps its own.
        raise _refuse(f"The API identifier “{spec.identifier}” belongs to an API in {api.org.slug}, not "
                      f"{org.slug}; delete it, then run seed_demo again.")
    tally.present.append(label)
    existing = dict(api.scopes.values_list("name", "description"))
    missing = [(name, text) for name, text in spec.scopes if name not in existing]
    if missing:
        # Keep the API's settings and any scope someone added; put back only the demo's.
        api_update(api=api, name=api.name, scopes=[*existing.items(), *missing], token_format=api.token_format,
                   access_token_lifetime=api.access_token_lifetime, description=api.description, actor=None)
        tally.created.extend(f"scope {name} of {spec.identifier}" for name, _ in missing)
    if not check_password(spec.secret, api.client_secret):
        Api.objects.filter(pk=api.pk).update(client_secret=_hashed_api_secret(spec.secret))
        audit_record(action="api.secret_rotated", actor=None, org=org, target=api,
                     metadata={"client_id": api.client_id, "by": "seed_demo"})
        tally.reset.append(f"secret of {spec.identifier}")
    return api


def _ensure_api_grants(org: Organization, api: Api, spec: DemoApi, tally: Tally) -> None:
    scopes = {scope.name: scope for scope in api.scopes.all()}
    for client_id, names in spec.grants:
        # _ensure_application ran first and refused a client id of another org.
        application = Application.objects.for_org(org).get(client_id=client_id)
        held = list(application.api_scopes.all())
        missing = [name for name in names if name not in {scope.name for scope in held}]
        for name in names:
            label = f"{name} for {client_id}"
            (tally.created if name in missing else tally.present).append(label)
        if missing:
            # Added to what the application holds: a grant made in the console stays.
            application_api_scopes_set(application=application, scopes=[*held, *(scopes[name] for name in missing)],
                                       actor=None)


def seed(*, admin_password: str) -> Tally:
    """Bring the database to the demo state, creating only what is missing."""
    tally = Tally()
    _ensure_user(ADMIN_EMAIL, "Gatehouse Admin", admin_password, tally, operator=True)
    orgs = {slug: _ensure_org(slug, name, tally) for slug, name in ORGS}
    users: dict[str, User] = {}
    for member in MEMBERS:
        users[member.email] = _ensure_user(member.email, member.full_name, DEMO_PASSWORD, tally)
        _ensure_membership(orgs[member.org], users[member.email], member.role, tally)
    for org_slug, slug, name, emails in GROUPS:
        _ensure_group(orgs[org_slug], slug, name, [users[email] for email in emails], tally)
    for spec in APPS:
        _ensure_application(orgs[spec.org], spec, tally)
    for api_spec in APIS:
        api = _ensure_api(orgs[api_spec.org], api_spec, tally)
        _ensure_api_grants(orgs[api_spec.org], api, api_spec, tally)
    return tally


class Command(BaseCommand):
    help = (
        "Load demo data: operator admin@example.com, orgs acme and globex with alice, bob and carol, an "
        "engineering group, three acme applications and acme's Orders API, all with well-known passwords and "
        "secrets. "
        "Running it again creates only what is missing and resets demo passwords and secrets that were "
        f"changed. The operator's password is {DEFAULT_ADMIN_PASSWORD!r} unless {ADMIN_PASSWORD_ENV} is set. "
        "Refuses (status 2) to write into any database but the embedded default unless --force is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true",
                            help="write the well-known demo credentials even into a non-embedded database")

    def handle(self, *args, force: bool, **options) -> None:
        if not getattr(settings, "EMBEDDED", False) and not force:
            raise _refuse("seed_demo writes well-known passwords and client secrets, and this is not the "
                          "embedded default database (DATABASE_URL is set); re-run with --force if you mean it.")
        admin_password = os.environ.get(ADMIN_PASSWORD_ENV) or DEFAULT_ADMIN_PASSWORD
        try:
            with transaction.atomic():
                tally = seed(admin_password=admin_password)
        except DomainError as exc:
            raise _refuse(exc.message) from None
        self._summarize(tally, admin_from_env=admin_password != DEFAULT_ADMIN_PASSWORD)

    def _summarize(self, tally: Tally, *, admin_from_env: bool) -> None:
        self.stdout.write(f"Created {len(tally.created)}: {', '.join(tally.created) or 'nothing'}.")
        self.stdout.write(f"Already present {len(tally.present)}.")
        if tally.reset:
            self.stdout.write(f"Reset to the demo value: {', '.join(tally.reset)}.")
        # Echo a password chosen through the environment nowhere: logs would keep it.
        admin_password = f"(the value of {ADMIN_PASSWORD_ENV})" if admin_from_env else DEFAULT_ADMIN_PASSWORD
        self.stdout.write(f"\nSign in at {settings.GATEHOUSE_ISSUER}/login")
        self.stdout.write(f"  {'operator':<14} {ADMIN_EMAIL:<20} {admin_password}")
        for member in MEMBERS:
            self.stdout.write(f"  {member.org + ' ' + member.role:<14} {member.email:<20} {DEMO_PASSWORD}")
        self.stdout.write("\nApplications")
        for spec in APPS:
            secret = f"client_secret {spec.secret}" if spec.secret else "public client (PKCE), no secret"
            label = f"{spec.name} ({spec.org}, {spec.kind})"
            self.stdout.write(f"  {label:<30} client_id {spec.client_id:<16} {secret}")
        self.stdout.write("\nAPIs")
        for api_spec in APIS:
            api = Api.objects.get(identifier=api_spec.identifier)
            scopes = " ".join(name for name, _ in api_spec.scopes)
            self.stdout.write(f"  {api_spec.name} ({api_spec.org}) {api_spec.identifier}, scopes {scopes}")
            # The client id is generated per database, so it is printed rather than documented.
            self.stdout.write(f"    introspection client_id {api.client_id} client_secret {api_spec.secret}")
            for client_id, names in api_spec.grants:
                self.stdout.write(f"    {client_id} is granted {' '.join(names)}")
