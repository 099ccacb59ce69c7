"""Setting up a passkey during sign-in, when a policy requires a second factor and the account has none;
and never as a way round a factor the account already has."""

import pytest
from django.template import Context, Template

from audit.models import AuditEvent
from directory.tests.factories import DEFAULT_PASSWORD
from identity.mfa.tests.support import shows_second_factor_step
from identity.models import UserSession
from identity.passkeys.models import Passkey
from identity.passkeys.tests.authenticator import SoftAuthenticator
from identity.passkeys.tests.support import ISSUER, post_json, register

pytestmark = pytest.mark.django_db


@pytest.fixture
def required(org):
    org.mfa_policy = "everyone"
    org.save()
    return org


def _password(client, user) -> str:
    response = client.post("/login", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    return response["Location"]


def test_a_passkey_set_up_at_sign_in_is_the_missing_second_factor(client, required, org_member, authenticator):
    assert _password(client, org_member) == "/login/enrol"
    page = client.get("/login/enrol").content.decode()
    assert "a code from an authenticator app or a passkey" in page
    assert 'data-options-url="/passkeys/enrol/options"' in page  # the set-up step offers a passkey too

    options = post_json(client, "/passkeys/enrol/options").json()
    assert options["user"]["name"] == org_member.email
    response = post_json(client, "/passkeys/enrol/verify", {"credential": authenticator.create(options), "name": "Key"})

    assert response.status_code == 200, response.content
    assert response.json() == {"redirect": "/account/"}
    assert Passkey.objects.get(user=org_member).name == "Key"
    assert UserSession.objects.get(user=org_member, ended_at__isnull=True).amr == ["pwd", "hwk", "mfa"]
    assert AuditEvent.objects.filter(action="passkey.registered", actor=org_member).exists()


def test_an_account_with_a_factor_cannot_add_a_passkey_with_its_password_alone(client, sign_in, required, org_member,
                                                                             authenticator):
    assert register(sign_in(org_member), authenticator).status_code == 201
    client.logout()
    UserSession.objects.all().delete()
    # the existing passkey is asked for
    assert shows_second_factor_step(client.post("/login", {"email": org_member.email, "password": DEFAULT_PASSWORD}))

    options = post_json(client, "/passkeys/enrol/options")
    intruder = SoftAuthenticator(origin=ISSUER, rp_id="localhost")
    verify = post_json(client, "/passkeys/enrol/verify", {"credential": intruder.create({
        "challenge": "AAAA", "user": {"id": "AAAA"}}), "name": "Intruder"})

    assert options.status_code == 400
    assert options.json()["error"] == "sign_in_expired"
    assert verify.status_code == 400
    assert Passkey.objects.filter(user=org_member).count() == 1
    assert not UserSession.objects.filter(ended_at__isnull=True).exists()


def test_without_a_sign_in_under_way_enrol_is_refused(client, authenticator):
    assert post_json(client, "/passkeys/enrol/options").status_code == 400
    assert post_json(client, "/passkeys/enrol/verify", {"credential": {}}).json()["error"] == "sign_in_expired"
    assert Passkey.objects.count() == 0


def test_a_sign_in_challenge_does_not_answer_enrol(client, required, org_member, authenticator):
    _password(client, org_member)
    registration = post_json(client, "/passkeys/enrol/options").json()
    post_json(client, "/passkeys/login/options")  # another purpose's challenge: not the one enrol checks
    credential = authenticator.create(registration)
    assert post_json(client, "/passkeys/enrol/verify", {"credential": credential}).status_code == 200

    replay = post_json(client, "/passkeys/enrol/verify", {"credential": credential})
    assert replay.status_code == 400
    assert Passkey.objects.count() == 1


def test_the_enrol_choice_offers_a_passkey_on_a_host_name_only(rf, settings):
    piece = Template("{% load passkeys %}{% passkey_enrol_choice %}")
    html = piece.render(Context({"request": rf.get("/login/enrol")}))
    assert "Set up a passkey and continue" in html
    assert 'data-options-url="/passkeys/enrol/options"' in html

    settings.GATEHOUSE_ISSUER = "http://127.0.0.1:8000"
    assert "Set up a passkey" not in piece.render(Context({"request": rf.get("/login/enrol")}))
