"""Org branding: the settings section (who may change it, good and bad logos, audit rows), the public
stylesheet and logo URLs, and the hosted sign-in page in an org's look."""

import hashlib
import io
import struct
import zlib
from urllib.parse import quote, unquote, urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.html import escape
from PIL import Image

from applications.services import application_create
from audit.models import AuditEvent
from config.exceptions import DomainError
from directory.tests.factories import MembershipFactory
from orgs.branding import (
    organization_branding_update,
    organization_logo_remove,
    organization_logo_set,
    stylesheet_render,
    stylesheet_version,
)
from orgs.models import Organization, OrgLogo

pytestmark = pytest.mark.django_db

SETTINGS = "/console/acme/settings/"
BRANDING = "/console/acme/settings/branding"
AUTHORIZE = "/oauth/authorize?client_id=acme-web&response_type=code&scope=openid&redirect_uri=https://rp.example/cb"


def _image(fmt: str, size=(64, 32), color=(200, 30, 40), **save) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format=fmt, **save)
    return out.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _png_bomb(side: int = 30000) -> bytes:
    """A tiny file whose header claims side×side pixels: decoding it would take gigabytes."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 1024)) + _png_chunk(b"IEND", b""))


def _noise_png(side: int) -> bytes:
    """A valid PNG that does not compress: random pixels, so the file is large."""
    import os

    out = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(out, format="PNG")
    return out.getvalue()


def _animated_webp() -> bytes:
    out = io.BytesIO()
    frames = [Image.new("RGB", (16, 16), c) for c in ((255, 0, 0), (0, 255, 0))]
    frames[0].save(out, format="WEBP", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return out.getvalue()


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
       b'<script>alert(1)</script><rect width="10" height="10"/></svg>')


def _post(client, data: dict | None = None, *, logo: tuple[str, bytes, str] | None = None):
    payload = {"display_name": "", "accent_color": "#0172ad", **(data or {})}
    if logo is not None:
        name, content, content_type = logo
        payload["logo"] = SimpleUploadedFile(name, content, content_type=content_type)
    return client.post(BRANDING, payload)


@pytest.fixture
def acme_app(org):
    created = application_create(org=org, name="Acme Web", kind="web", redirect_uris=["https://rp.example/cb"],
                                 client_id="acme-web")
    return created.application


# ---------------------------------------------------------------- who may change it


@pytest.mark.parametrize(("role", "get", "post"),
                         [("owner", 200, 302), ("admin", 200, 302), ("auditor", 200, 403), ("member", 403, 403)])
def test_branding_by_role(client, sign_in, org, role, get, post):
    sign_in(MembershipFactory(org=org, role=role).user)

    page = client.get(SETTINGS)
    assert page.status_code == get
    if get == 200:
        assert "Branding" in page.content.decode()
    assert _post(client, {"display_name": "Acme Sign-in"}).status_code == post

    org.refresh_from_db()
    assert (org.display_name == "Acme Sign-in") is (post == 302)


def test_auditor_reads_branding_without_a_form_to_submit(client, sign_in, org, org_auditor):
    organization_branding_update(org=org, actor=None, display_name="Acme ID", accent_color="#123456")
    sign_in(org_auditor)

    page = client.get(SETTINGS).content.decode()

    assert 'value="Acme ID"' in page
    assert "disabled" in page
    assert "Save branding" not in page
    assert 'type="file"' not in page


def test_another_orgs_admin_gets_404(other_org_admin_client, org):
    assert other_org_admin_client.get(SETTINGS).status_code == 404
    assert _post(other_org_admin_client, {"display_name": "Pwned"}).status_code == 404
    org.refresh_from_db()
    assert org.display_name == ""


def test_get_is_not_allowed_on_the_branding_action(org_admin_client):
    assert org_admin_client.get(BRANDING).status_code == 405


# ---------------------------------------------------------------- name and colour


def test_saving_name_and_colour_is_audited(org_admin_client, org, org_admin):
    response = _post(org_admin_client, {"display_name": "  Acme Identity ", "use_accent": "on",
                                        "accent_color": "#AA3300"})

    assert response.status_code == 302
    assert response["Location"].endswith("/console/acme/settings/#branding")
    org.refresh_from_db()
    assert (org.display_name, org.accent_color, org.brand_name) == ("Acme Identity", "#aa3300", "Acme Identity")
    event = AuditEvent.objects.get(action="organization.branding_updated")
    assert (event.actor, event.org, event.target_id) == (org_admin, org, str(org.pk))
    assert event.metadata == {"before": {"display_name": "", "accent_color": ""},
                              "after": {"display_name": "Acme Identity", "accent_color": "#aa3300"}}


def test_unchecking_the_accent_returns_to_the_default_colours(org_admin_client, org):
    organization_branding_update(org=org, actor=None, accent_color="#aa3300")

    _post(org_admin_client, {"accent_color": "#aa3300"})

    org.refresh_from_db()
    assert org.accent_color == ""


def test_saving_unchanged_values_records_nothing(org_admin_client, org):
    _post(org_admin_client)
    assert not AuditEvent.objects.filter(action__startswith="organization.").exists()


@pytest.mark.parametrize("color", ["red", "#12345", "#1234567", "#12345g", "#123456;}body{x:y", "url(x)"])
def test_a_bad_colour_is_a_form_error(org_admin_client, org, color):
    response = _post(org_admin_client, {"use_accent": "on", "accent_color": color})

    assert response.status_code == 200
    assert "Enter the colour as #rrggbb" in response.content.decode()
    org.refresh_from_db()
    assert org.accent_color == ""


@pytest.mark.parametrize("color", ["red", "#12345", "#123456}", "#12345g"])
def test_the_service_refuses_a_bad_colour(org, color):
    with pytest.raises(DomainError) as refused:
        organization_branding_update(org=org, actor=None, accent_color=color)
    assert refused.value.field == "accent_color"


def test_a_too_long_display_name_is_a_form_error(org_admin_client, org):
    response = _post(org_admin_client, {"display_name": "x" * 151})
    assert response.status_code == 200
    assert "at most 150 characters" in response.content.decode()


# ---------------------------------------------------------------- logos


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                                   ("WEBP", "image/webp")])
def test_a_good_logo_is_stored_and_audited(org_admin_client, org, org_admin, fmt, content_type):
    data = _image(fmt)
    # The browser's name and type are ignored: the bytes decide.
    response = _post(org_admin_client, logo=("logo.bin", data, "application/octet-stream"))

    assert response.status_code == 302
    logo = OrgLogo.objects.get(org=org)
    assert (bytes(logo.content), logo.content_type, logo.width, logo.height) == (data, content_type, 64, 32)
    assert logo.digest == hashlib.sha256(data).hexdigest()
    event = AuditEvent.objects.get(action="organization.logo_changed")
    assert (event.actor, event.org) == (org_admin, org)
    assert event.metadata == {"before": None, "after": {"digest": logo.digest, "bytes": len(data),
                                                        "content_type": content_type, "width": 64, "height": 32}}


BAD_LOGOS = {
    "svg": (("logo.svg", SVG, "image/svg+xml"), "not a PNG, JPEG or WebP"),
    "gif": (("logo.gif", _image("GIF"), "image/gif"), "not a PNG, JPEG or WebP"),
    "text named png": (("logo.png", b"hello, I am not an image\n" * 10, "image/png"), "not a PNG, JPEG or WebP"),
    "truncated png": (("logo.png", _image("PNG", size=(300, 300), color=(1, 2, 3))[:200], "image/png"),
                      "damaged"),
    "300 KB": (("logo.png", b"\x89PNG" + b"\x00" * (300 * 1024), "image/png"), "at most 256 KB"),
    "5000x5000": (("logo.png", None, "image/png"), "at most 1024×1024"),
    "bomb": (("logo.png", _png_bomb(), "image/png"), "at most 1024×1024"),
    "animated webp": (("logo.webp", _animated_webp(), "image/webp"), "Animated images are not accepted"),
    "empty": (("logo.png", b"", "image/png"), "empty"),
}


@pytest.mark.parametrize("case", list(BAD_LOGOS))
def test_a_bad_logo_is_a_clear_error_and_changes_nothing(org_admin_client, org, case):
    good = _image("PNG")
    organization_logo_set(org=org, actor=None, data=good)
    (name, data, content_type), message = BAD_LOGOS[case]
    if data is None:
        out = io.BytesIO()
        Image.new("1", (5000, 5000)).save(out, format="PNG")
        data = out.getvalue()
    events = AuditEvent.objects.count()

    response = _post(org_admin_client, {"display_name": "Changed"}, logo=(name, data, content_type))

    assert response.status_code == 200
    assert message in response.content.decode()
    org.refresh_from_db()
    assert org.display_name == ""  # the name in the same submission is not saved either
    assert bytes(OrgLogo.objects.get(org=org).content) == good
    assert AuditEvent.objects.count() == events


def test_a_large_valid_png_is_refused_by_size(org):
    data = _noise_png(320)
    assert len(data) > 256 * 1024
    with pytest.raises(DomainError, match="at most 256 KB"):
        organization_logo_set(org=org, actor=None, data=data)
    assert not OrgLogo.objects.exists()


def test_replacing_and_removing_a_logo_is_audited_without_the_bytes(org_admin_client, org):
    first, second = _image("PNG"), _image("JPEG")
    organization_logo_set(org=org, actor=None, data=first)

    _post(org_admin_client, logo=("new.jpg", second, "image/jpeg"))
    changed = AuditEvent.objects.filter(action="organization.logo_changed").latest("id")
    assert changed.metadata["before"]["digest"] == hashlib.sha256(first).hexdigest()
    assert changed.metadata["after"]["content_type"] == "image/jpeg"

    assert _post(org_admin_client, {"remove_logo": "on"}).status_code == 302
    assert not OrgLogo.objects.filter(org=org).exists()
    removed = AuditEvent.objects.get(action="organization.logo_removed")
    assert removed.metadata == {"digest": hashlib.sha256(second).hexdigest(), "bytes": len(second),
                                "content_type": "image/jpeg", "width": 64, "height": 32}


def test_removing_no_logo_writes_nothing(org):
    assert organization_logo_remove(org=org, actor=None) is False
    assert not AuditEvent.objects.filter(action="organization.logo_removed").exists()


def test_upload_and_remove_together_is_refused(org_admin_client, org):
    response = _post(org_admin_client, {"remove_logo": "on"}, logo=("l.png", _image("PNG"), "image/png"))
    assert response.status_code == 200
    assert "not both" in response.content.decode()
    assert not OrgLogo.objects.exists()


# ---------------------------------------------------------------- serving the logo


def test_the_logo_is_served_safely(client, org):
    data = _image("PNG")
    logo = organization_logo_set(org=org, actor=None, data=data)

    response = client.get(f"/branding/acme/logo?v={logo.digest[:16]}")

    assert response.status_code == 200
    assert response.content == data
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"] == "default-src 'none'"
    assert response["Content-Disposition"].startswith("inline")
    assert "max-age=31536000" in response["Cache-Control"]
    assert "public" in response["Cache-Control"]
    assert response["ETag"] == f'"{logo.digest}"'
    assert "Set-Cookie" not in response


def test_the_logo_revalidates_with_its_etag(client, org):
    logo = organization_logo_set(org=org, actor=None, data=_image("PNG"))
    response = client.get("/branding/acme/logo", HTTP_IF_NONE_MATCH=f'"{logo.digest}"')
    assert response.status_code == 304
    assert response.content == b""


@pytest.mark.parametrize("slug", ["acme", "nope"])
def test_no_logo_or_no_org_is_404(client, org, slug):
    assert client.get(f"/branding/{slug}/logo").status_code == 404


def test_a_suspended_orgs_branding_is_404(client, org):
    organization_logo_set(org=org, actor=None, data=_image("PNG"))
    organization_branding_update(org=org, actor=None, accent_color="#aa3300")
    Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)

    assert client.get("/branding/acme/logo").status_code == 404
    assert client.get("/branding/acme/style.css").status_code == 404


def test_branding_urls_refuse_post(client, org):
    organization_logo_set(org=org, actor=None, data=_image("PNG"))
    assert client.post("/branding/acme/logo").status_code == 405


# ---------------------------------------------------------------- the stylesheet


def test_the_stylesheet_sets_picos_primary_colours(client, org):
    organization_branding_update(org=org, actor=None, accent_color="#aa3300")

    response = client.get(f"/branding/acme/style.css?v={stylesheet_version('#aa3300')}")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/css; charset=utf-8"
    css = response.content.decode()
    assert "--pico-primary-background:#aa3300;" in css
    assert "--pico-primary:#aa3300;" in css  # light
    assert "prefers-color-scheme:dark" in css
    assert "[data-theme=dark]" in css
    assert "--pico-primary-hover-background:" in css
    assert "--pico-primary-inverse:#fff" in css
    assert "max-age=31536000" in response["Cache-Control"]
    assert response["ETag"] == f'"{stylesheet_version("#aa3300")}"'
    assert client.get("/branding/acme/style.css", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304


def test_a_light_accent_gets_dark_button_text():
    assert "--pico-primary-inverse:#000" in stylesheet_render("#ffee55")


def test_the_stylesheet_never_renders_an_unchecked_colour(org):
    # Even a value that reached the row without the service (say, the admin site) cannot get out.
    Organization.objects.filter(pk=org.pk).update(accent_color="#1}</")
    with pytest.raises(ValueError, match="#rrggbb"):
        stylesheet_render("#1}</")


def test_no_accent_colour_means_no_stylesheet(client, org):
    assert client.get("/branding/acme/style.css").status_code == 404


def test_a_tampered_accent_in_the_database_is_not_served(client, org):
    Organization.objects.filter(pk=org.pk).update(accent_color="#1}</")
    assert client.get("/branding/acme/style.css").status_code == 404


def test_the_version_changes_with_the_colour():
    assert stylesheet_version("#aa3300") != stylesheet_version("#aa3301")


# ---------------------------------------------------------------- the hosted pages


def _brand(org):
    organization_branding_update(org=org, actor=None, display_name="Acme Identity", accent_color="#aa3300")
    return organization_logo_set(org=org, actor=None, data=_image("PNG"))


def test_a_sign_in_reached_from_an_orgs_app_is_branded(client, org, acme_app):
    logo = _brand(org)

    authorize = client.get(AUTHORIZE)
    assert authorize.status_code == 302
    page = client.get(authorize["Location"]).content.decode()

    assert "<strong>Acme Identity</strong>" in page
    assert f'href="/branding/acme/style.css?v={stylesheet_version("#aa3300")}"' in page
    assert f'src="/branding/acme/logo?v={logo.digest[:16]}"' in page
    assert 'alt="Acme Identity logo"' in page


def test_the_logo_and_stylesheet_urls_on_the_page_work(client, org, acme_app):
    _brand(org)
    page = client.get(client.get(AUTHORIZE)["Location"]).content.decode()
    for marker in ('href="/branding/', 'src="/branding/'):
        url = page.split(marker, 1)[1].split('"', 1)[0].replace("&amp;", "&")
        assert client.get("/branding/" + url).status_code == 200


def test_a_plain_sign_in_is_not_branded(client, org, acme_app):
    _brand(org)

    page = client.get("/login").content.decode()

    assert "<strong>Gatehouse</strong>" in page
    assert "/branding/" not in page
    assert "Acme Identity" not in page


def test_a_plain_sign_in_after_an_app_started_one_is_not_branded(client, org, acme_app):
    _brand(org)
    client.get(client.get(AUTHORIZE)["Location"])

    page = client.get("/login").content.decode()

    assert "/branding/" not in page


def test_a_plain_sign_in_after_a_refused_attempt_at_an_app_is_not_branded(client, org, acme_app):
    _brand(org)
    login_url = client.get(AUTHORIZE)["Location"]
    next_url = unquote(login_url.split("next=", 1)[1])
    refused = client.post("/login", {"email": "nobody@acme.test", "password": "wrong-password-1", "next": next_url})
    assert "Acme Identity" in refused.content.decode()  # the flow, in the session, notes the app's org

    page = client.get("/login").content.decode()

    assert "/branding/" not in page
    assert "Acme Identity" not in page


def test_a_sign_in_form_with_errors_from_an_app_is_branded(client, org, acme_app):
    _brand(org)
    login_url = client.get(AUTHORIZE)["Location"]
    next_url = unquote(login_url.split("next=", 1)[1])

    page = client.post("/login", {"email": "", "password": "", "next": next_url}).content.decode()

    assert "<strong>Acme Identity</strong>" in page
    assert f'value="{escape(next_url)}"' in page


def test_forgot_password_from_an_apps_sign_in_is_branded_and_leads_back_to_the_app(client, org, acme_app, mailoutbox):
    _brand(org)
    sign_in = client.get(client.get(AUTHORIZE)["Location"]).content.decode()
    reset_url = sign_in.split('<p><a href="', 1)[1].split('"', 1)[0].replace("&amp;", "&")
    assert reset_url == "/password/reset?next=" + quote(AUTHORIZE, safe="")

    page = client.get(reset_url).content.decode()
    assert "<strong>Acme Identity</strong>" in page
    back = f'href="/login?next={escape(quote(AUTHORIZE, safe=""))}"'
    assert back in page
    assert f'action="/password/reset?next={escape(quote(AUTHORIZE, safe=""))}"' in page

    sent = client.post(reset_url, {"email": "someone@acme.test"})
    assert sent.status_code == 200
    assert "Check your email" in sent.content.decode()
    assert "<strong>Acme Identity</strong>" in sent.content.decode()
    assert back in sent.content.decode()
    # Back at the sign-in, the app's flow goes on: its form still carries the app's /oauth/authorize.
    again = client.get(f"/login?next={quote(AUTHORIZE, safe='')}").content.decode()
    assert f'name="next" value="{escape(AUTHORIZE)}"' in again


def test_forgot_password_with_a_foreign_next_is_plain(client, org, acme_app):
    _brand(org)

    page = client.get("/password/reset?next=" + quote("https://evil.example/x", safe="")).content.decode()

    assert "/branding/" not in page
    assert 'href="/login"' in page  # an address that is not ours is dropped, not carried on
    assert "evil.example" not in page


@pytest.mark.parametrize("next_url", ["\x00", "/oauth/authorize?client_id=%00", "/oauth/authorize?client_id=nobody",
                                      "/oauth/authorize?client_id=" + "x" * 5000, "javascript:alert(1)", "x" * 10_000])
def test_a_malformed_or_unknown_next_gets_the_plain_pages(client, org, acme_app, next_url):
    _brand(org)
    for answer in (client.get("/login", {"next": next_url}), client.get("/password/reset", {"next": next_url}),
                   client.post("/password/reset?" + urlencode({"next": next_url}), {"email": "someone@acme.test"})):
        assert answer.status_code == 200
        assert "/branding/" not in answer.content.decode()


def test_without_a_display_name_the_orgs_name_shows(client, org, acme_app):
    page = client.get(client.get(AUTHORIZE)["Location"]).content.decode()
    assert f"<strong>{org.name}</strong>" in page
    assert "/branding/" not in page  # no colour, no logo: nothing to link


def test_a_suspended_orgs_app_gets_the_default_look(client, org, acme_app):
    _brand(org)
    Organization.objects.filter(pk=org.pk).update(status=Organization.Status.SUSPENDED)

    page = client.get("/login?next=" + AUTHORIZE.replace("&", "%26").replace("?", "%3F")).content.decode()

    assert "<strong>Gatehouse</strong>" in page
    assert "/branding/" not in page


def test_the_hosted_page_costs_one_query_for_the_brand(client, org, acme_app, django_assert_max_num_queries):
    _brand(org)
    login_url = client.get(AUTHORIZE)["Location"]
    client.get(login_url)
    with django_assert_max_num_queries(4):
        client.get(login_url)


def test_console_pages_never_look_up_a_brand(org_admin_client, org, monkeypatch):
    def _fail(**kwargs):
        raise AssertionError("the console looked up the hosted brand")

    monkeypatch.setattr("orgs.context_processors.hosted_brand_get", _fail)
    assert org_admin_client.get("/console/acme/").status_code == 200


def test_an_invitation_page_wears_the_inviting_orgs_branding(client, org, org_admin):
    from identity.tests.link_support import last_link
    from orgs.services import member_invite

    logo = _brand(org)
    member_invite(org=org, email="dana@example.test", role="member", actor=org_admin)

    page = client.get(last_link(recipient="dana@example.test")).content.decode()

    assert "<strong>Acme Identity</strong>" in page
    assert f'src="/branding/acme/logo?v={logo.digest[:16]}"' in page
    assert f'href="/branding/acme/style.css?v={stylesheet_version("#aa3300")}"' in page

