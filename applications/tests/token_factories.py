"""Real DOT token rows for tests, and a small world of users, orgs and apps that hold them."""

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone
from oauth2_provider.models import (
    get_access_token_model,
    get_grant_model,
    get_id_token_model,
    get_refresh_token_model,
)

from applications.models import Application
from applications.services import application_create
from directory.models import User
from directory.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from orgs.models import Membership, Organization

AccessToken = get_access_token_model()
RefreshToken = get_refresh_token_model()
IDToken = get_id_token_model()
Grant = get_grant_model()


@dataclass
class Issued:
    """What one token response leaves in the database: an access token, maybe a refresh and an ID token."""

    access: AccessToken
    refresh: RefreshToken | None = None
    id_token: IDToken | None = None

    def is_live(self) -> bool:
        return (
            AccessToken.objects.filter(pk=self.access.pk).exists()
            and (self.refresh is None or RefreshToken.objects.filter(
                pk=self.refresh.pk, revoked__isnull=True, access_token_id=self.access.pk).exists())
            and (self.id_token is None or IDToken.objects.filter(pk=self.id_token.pk).exists())
        )

    def is_revoked(self) -> bool:
        """The end state of DOT's RefreshToken.revoke(), plus the ID token gone."""
        return (
            not AccessToken.objects.filter(pk=self.access.pk).exists()
            and (self.refresh is None or RefreshToken.objects.filter(
                pk=self.refresh.pk, revoked__isnull=False, access_token__isnull=True).exists())
            and (self.id_token is None or not IDToken.objects.filter(pk=self.id_token.pk).exists())
        )


def issue_tokens(*, application: Application, user: User | None, refresh: bool = True,
                 id_token: bool = True) -> Issued:
    """Rows as DOT's save_bearer_token writes them for a sign-in (or, with user=None, client credentials)."""
    expires = timezone.now() + timedelta(hours=1)
    id_row = (IDToken.objects.create(user=user, application=application, expires=expires, scope="openid email")
              if id_token else None)
    access = AccessToken.objects.create(
        user=user, application=application, token=secrets.token_urlsafe(30), expires=expires,
        scope="openid email", id_token=id_row,
    )
    refresh_row = (RefreshToken.objects.create(
        user=user, application=application, token=secrets.token_urlsafe(30), access_token=access,
        token_family=uuid.uuid4(),
    ) if refresh else None)
    return Issued(access=access, refresh=refresh_row, id_token=id_row)


def issue_grant(*, application: Application, user: User) -> Grant:
    """An authorization code not yet exchanged."""
    return Grant.objects.create(
        user=user, application=application, code=secrets.token_urlsafe(30),
        expires=timezone.now() + timedelta(minutes=1), redirect_uri="https://x.example/cb", scope="openid",
        code_challenge="x" * 43, code_challenge_method="S256",
    )


def web_app(org: Organization, name: str) -> Application:
    return application_create(org=org, name=name, kind="web", redirect_uris=["https://x.example/cb"]).application


def machine_app(org: Organization, name: str) -> Application:
    return application_create(org=org, name=name, kind="machine").application


@dataclass
class World:
    """Two orgs. Alice belongs to both, Bob to Acme only; Olive owns Acme, Greta owns Globex.

    Acme has a web app and a machine app, Globex a web app. Each person holds tokens in each web app
    of their orgs, the machine app holds client-credentials tokens, and Alice has an unused code.
    """

    acme: Organization
    globex: Organization
    alice: User
    bob: User
    olive: User
    greta: User
    acme_web: Application
    acme_machine: Application
    globex_web: Application
    memberships: dict[str, Membership] = field(default_factory=dict)
    tokens: dict[str, Issued] = field(default_factory=dict)
    grant: Grant | None = None

    def live(self) -> set[str]:
        return {name for name, issued in self.tokens.items() if issued.is_live()}

    def revoked(self) -> set[str]:
        return {name for name, issued in self.tokens.items() if issued.is_revoked()}


def build_world() -> World:
    acme = OrganizationFactory(slug="acme", name="Acme Corp")
    globex = OrganizationFactory(slug="globex", name="Globex")
    alice, bob = UserFactory(email="alice@example.test"), UserFactory(email="bob@example.test")
    olive, greta = UserFactory(email="olive@example.test"), UserFactory(email="greta@example.test")
    world = World(
        acme=acme, globex=globex, alice=alice, bob=bob, olive=olive, greta=greta,
        acme_web=web_app(acme, "Acme portal"), acme_machine=machine_app(acme, "Acme sync"),
        globex_web=web_app(globex, "Globex portal"),
    )
    for key, user, org, role in [
        ("alice@acme", alice, acme, Membership.Role.MEMBER),
        ("alice@globex", alice, globex, Membership.Role.ADMIN),
        ("bob@acme", bob, acme, Membership.Role.MEMBER),
        ("olive@acme", olive, acme, Membership.Role.OWNER),
        ("greta@globex", greta, globex, Membership.Role.OWNER),
    ]:
        world.memberships[key] = MembershipFactory(user=user, org=org, role=role)
    world.tokens = {
        "alice@acme_web": issue_tokens(application=world.acme_web, user=alice),
        "alice@globex_web": issue_tokens(application=world.globex_web, user=alice),
        "bob@acme_web": issue_tokens(application=world.acme_web, user=bob),
        "olive@acme_web": issue_tokens(application=world.acme_web, user=olive),
        "greta@globex_web": issue_tokens(application=world.globex_web, user=greta),
        "acme_machine": issue_tokens(application=world.acme_machine, user=None, refresh=False, id_token=False),
    }
    world.grant = issue_grant(application=world.acme_web, user=alice)
    return world
