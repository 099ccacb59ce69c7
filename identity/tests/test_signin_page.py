"""GET /login serves a page rendered once per language and brand, with the request's CSRF token and `next`
put in (identity/signin_page.py): the HTML must be what rendering gives, for any `next`, and a page with
something of its own to show (a message) is rendered."""

import io
import re
from urllib.parse import quote, urlencode

import pytest
from django.conf import settings
from django.test import Client
from django.utils.html import escape
from PIL import Image

from identity import signin_page
from identity.tests.html_forms import hidden_input
from identity.tests.oidc_support import authorize_path, make_web_app
from orgs.branding import organization_branding_update, organization_logo_set

pytestmark = pytest.mark.django_db

_TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
NEXTS = ["", "/account/", "/account/?a=1&b=<b>&c=\"quoted\"&d='single'&e=%20", "/account/?x=" + "é" * 40,
         "/account/?q=GatehouseNextStandIn4d82fa&r=GatehouseCsrfStandIn7c1e9b&s=GatehouseNextQueryStandIn93b0c5"]


def _rendered(client: Client, url: str, monkeypatch) -> str:
    """The page as the template renders it on this request (the memory is skipped, as for a page with
    messages)."""
    with monkeypatch.context() as patch:
        patch.setattr(signin_page, "get_messages", lambda request: [object()])
        return client.get(url).content.decode()


def _without_tokens(html: str) -> str:
    return _TOKEN.sub('name="csrfmiddlewaretoken" value="…"', html)


@pytest.mark.parametrize("next_url", NEXTS)
def test_a_kept_page_is_byte_for_byte_the_rendered_one(monkeypatch, next_url):
    url = "/login?" + urlencode({"next": next_url})
    client = Client()
    first, again = client.get(url), client.get(url)  # the first renders and keeps, the second is filled in
    expected = _rendered(client, url, monkeypatch)
    for response in (first, again):
        assert response.status_code == 200
        assert _without_tokens(response.content.decode()) == _without_tokens(expected)
    kept = set(signin_page._pages.values())
    assert kept, "the page was not kept"
    assert hidden_input(again, "next") == (next_url if next_url.startswith("/account/") else "")
    # The forgot-password link carries `next` as a query value (the reset pages lead back to this sign-in).
    reset_link = 'href="/password/reset' + (f'?next={escape(quote(next_url, safe=""))}"' if next_url else '"')
    assert reset_link in again.content.decode()


def test_the_token_of_a_kept_page_signs_in_with_csrf_checks_on(org_member, password):
    browser = Client(enforce_csrf_checks=True)
    browser.get("/login")
    page = browser.get("/login")  # from memory
    assert browser.cookies[settings.CSRF_COOKIE_NAME].value
    response = browser.post("/login", {"csrfmiddlewaretoken": hidden_input(page, "csrfmiddlewaretoken"),
                                       "email": org_member.email, "password": password})
    assert response.status_code == 302
    forged = Client(enforce_csrf_checks=True)
    forged.get("/login")
    refused = forged.post("/login", {"csrfmiddlewaretoken": "x" * 64, "email": org_member.email, "password": password})
    assert refused.status_code == 403


def test_each_brand_and_each_change_of_it_gets_its_own_page(org, monkeypatch):
    web = make_web_app(org, client_id="payroll")
    authorize = authorize_path(web)

    def page_from_app() -> str:
        browser = Client()
        response = browser.get(browser.get(authorize)["Location"])
        assert response.status_code == 200
        return response.content.decode()

    assert "<strong>Gatehouse</strong>" in Client().get("/login").content.decode()
    assert "<strong>Acme Corp</strong>" in page_from_app()
    assert "<strong>Gatehouse</strong>" in Client().get("/login").content.decode()
    organization_branding_update(org=org, actor=None, display_name="Acme Payroll", accent_color="#0a7d3b")
    branded = page_from_app()
    assert "<strong>Acme Payroll</strong>" in branded
    assert "/branding/acme/style.css?v=" in branded
    out = io.BytesIO()
    Image.new("RGB", (64, 32), (200, 30, 40)).save(out, format="PNG")
    logo = organization_logo_set(org=org, actor=None, data=out.getvalue())
    assert f"/branding/acme/logo?v={logo.digest[:16]}" in page_from_app()


def test_a_page_with_a_message_is_rendered_with_it(client, sign_in, org_member):
    sign_in(org_member)
    client.get("/login")  # nothing to say: kept (a signed-in GET goes on to the account page instead)
    user_session = client.get("/account/").context["request"].user_session
    signed_out = client.post(f"/account/sessions/{user_session.pk}/end", follow=True)
    assert signed_out.redirect_chain[-1][0] == "/login"
    assert "You have been signed out." in signed_out.content.decode()
    assert "You have been signed out." not in Client().get("/login").content.decode()
