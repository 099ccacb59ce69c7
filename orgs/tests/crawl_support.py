"""The browser crawl's parts: seed data on every list, link discovery, and the checks run on each page."""

from __future__ import annotations

import hashlib
import os
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pyotp
from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from applications.api_services import api_create
from applications.apikey_services import api_key_create
from applications.models import Application
from applications.services import application_create
from directory.import_services import user_import_create
from directory.services import group_create, group_member_add
from directory.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from emailqueue.models import OutboundEmail
from emailqueue.tests.factories import OutboundEmailFactory
from identity.mfa.qr import totp_setup_key
from identity.mfa.services import totp_enrol_begin, totp_enrol_confirm
from orgs.models import Membership
from orgs.services import invitation_build, member_invite
from webhooks.services import webhook_endpoint_create

AXE_JS = Path(__file__).parent / "assets" / "axe-core" / "4.14.1" / "axe.min.js"
# CI keeps var/screenshots/ as artifacts; CRAWL_SCREENSHOTS lets two runs in one checkout keep apart.
SCREENSHOTS = Path(os.environ.get("CRAWL_SCREENSHOTS") or Path(settings.BASE_DIR) / "var" / "screenshots")
WIDTHS = (390, 1280, 1440)
AXE_WIDTH = 1280
HEIGHT = 900
PAGE_CAP = 80
LONG_NAME = "Bartholomew" * 9
LONG_EMAIL = f"{'averyveryverylongmailboxname' * 3}@{'subdomain' * 4}.acme.test"


@dataclass(frozen=True)
class Role:
    """Who crawls: the account it signs in as (None: anonymous), where it starts, and extra pages, each
    checked as itself: pages no link reaches (error pages, an invitation) or one of each kind (app kinds)."""

    name: str
    email: str | None
    start: str
    extra: tuple[str, ...] = ()


def seed() -> dict[str, str]:
    """Org acme with data on every console list, a second org (globex), and one account per role.

    Its webhook points at a loopback address (no DNS here): the caller sets GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE.

    Returns paths a crawl should see whatever links it follows first: an open invitation, /oauth/authorize
    for an app the plain member may use (its consent page) and for one limited to a group they are not in
    (its refusal page), an app of each kind, and the member and group with unbroken names.
    """
    acme = OrganizationFactory(slug="acme", name="Acme Corp")
    globex = OrganizationFactory(slug="globex", name="Globex")
    owner = _member(acme, "owner", "owner@acme.test", "Olivia Owner")
    _member(acme, "admin", "admin@acme.test", "Ada Admin")
    _member(acme, "auditor", "auditor@acme.test", "Audrey Auditor")
    member = _member(acme, "member", "member@acme.test", "Max Member")
    long_one = _member(acme, "member", LONG_EMAIL, LONG_NAME)
    _member(globex, "admin", "admin@globex.test", "Gus Globex")
    UserFactory(email="operator@example.test", full_name="Opal Operator", is_superuser=True)
    for n in range(6):
        _member(acme, "member", f"person{n}@acme.test", f"Person Number{n}")
    suspended = _member(acme, "member", "suspended@acme.test", "Sam Suspended")
    Membership.objects.filter(user=suspended, org=acme).update(status=Membership.Status.SUSPENDED)

    engineering = group_create(org=acme, name="Engineering", slug="engineering", actor=owner)
    finance = group_create(org=acme, name="Finance", slug="finance", actor=owner)
    long_group = group_create(org=acme, name=f"Group {LONG_NAME}", slug="long-name", actor=owner,
                              description="A group whose name has no spaces to break at. " * 4)
    for user in (member, long_one):
        group_member_add(group=long_group, user=user, actor=owner, notify=False)
        group_member_add(group=engineering, user=user, actor=owner, notify=False)
    group_create(org=globex, name="Sales", slug="sales", actor=None)

    web = application_create(org=acme, name="HR Portal", kind=Application.Kind.WEB, actor=owner,
                             redirect_uris=["https://hr.acme.test/callback"]).application
    payroll = application_create(org=acme, name="Payroll", kind=Application.Kind.WEB, actor=owner,
                                 redirect_uris=["https://payroll.acme.test/callback"],
                                 allowed_groups=[finance]).application
    application_create(org=acme, name="Project Tracker", kind=Application.Kind.SPA, actor=owner,
                       redirect_uris=["https://tracker.acme.test/callback"],
                       allowed_origins=["https://tracker.acme.test"])
    application_create(org=acme, name="Field App", kind=Application.Kind.NATIVE, actor=owner,
                       redirect_uris=["com.acme.field:/callback"])
    application_create(org=acme, name=f"Reports {LONG_NAME}", kind=Application.Kind.MACHINE, actor=owner)
    application_create(org=globex, name="Globex Web", kind=Application.Kind.WEB, actor=None,
                       redirect_uris=["https://web.globex.test/callback"])
    api_create(org=acme, name="Orders API", identifier="https://orders.acme.test", actor=owner,
               scopes=[("orders:read", "See your orders"), ("orders:write", "Place and change orders")])
    api_key_create(org=acme, actor=owner, request=None, name="CI deploys", scopes=["members.view"],
                   expires_at=timezone.now() + timedelta(days=30), allowed_ips=["203.0.113.0/24"])
    api_key_create(org=acme, actor=owner, request=None, name="Reporting job", scopes=["audit.view"],
                   application=web)
    webhook_endpoint_create(org=acme, url="http://127.0.0.1:9/gatehouse", actor=owner,  # needs ALLOW_PRIVATE
                            events=["membership.suspended"], description="Chat notifications")

    for status in OutboundEmail.Status.values:
        OutboundEmailFactory(org=acme, status=status, subject=f"A {status} message",
                             body_text="Hello,\n\n" + "unbroken" * 30 + "\n\nhttps://" + "x" * 150 + "\n")
    user_import_create(org=acme, actor=owner, filename="people.csv", send_invitations=False,
                       data=b"email,name,role,groups\nnew.person@acme.test,New Person,member,engineering\n"
                            b"not-an-email,Broken Row,member,\n")
    member_invite(org=acme, email="invited@acme.test", role="member", actor=owner)
    _with_authenticator(_member(acme, "member", "mfa@acme.test", "Mia Factor"))
    apps = Application.objects.filter(org=acme).order_by("pk")
    return {
        "invitation": _invitation_path(acme, owner),
        "consent": _authorize_path(web),
        "refused": _authorize_path(payroll),
        # One detail page of each kind of app (each shows its own snippets), and the unbroken names'.
        **{f"app_{app.kind}": f"/console/acme/applications/{app.pk}/" for app in apps},
        "long_member": f"/console/acme/users/{long_one.pk}/",
        "long_group": f"/console/acme/groups/{long_group.pk}/",
    }


def _member(org, role: str, email: str, full_name: str):
    return MembershipFactory(org=org, role=role, user=UserFactory(email=email, full_name=full_name)).user


def _with_authenticator(user) -> None:
    """An authenticator app confirmed with a real code: signing in with the password leads to /login/verify."""
    device = totp_enrol_begin(user=user)
    code = pyotp.TOTP(totp_setup_key(device).replace(" ", "")).now()
    totp_enrol_confirm(user=user, device=device, code=code, name="Phone")


def _authorize_path(app: Application) -> str:
    return "/oauth/authorize?" + urlencode({
        "client_id": app.client_id, "response_type": "code", "redirect_uri": app.redirect_uris.split()[0],
        "scope": "openid profile email", "state": "crawl", "code_challenge": "x" * 43,
        "code_challenge_method": "S256"})


def _invitation_path(org, actor) -> str:
    """An open invitation's link as its recipient receives it (the raw token exists only in the email)."""
    membership = MembershipFactory(org=org, role="member", status=Membership.Status.INVITED,
                                   user=UserFactory(email="newcomer@acme.test", full_name="Nia Newcomer",
                                                    password=None))
    token, email = invitation_build(membership=membership, actor=actor)
    token.save(force_insert=True)
    return urlsplit(email.context["link"]).path


# ------------------------------------------------------------------------------------------- link discovery

SKIPPED_PATHS = re.compile(r"^/(logout|static/|media/|oauth/|\.well-known/|api/)|/export|\.(csv|json|txt)$")
ID_SEGMENT = re.compile(r"(?<=/)(\d+|[0-9a-f]{8}-[0-9a-f-]{27})(?=/|$)")
ORG_SEGMENT = re.compile(r"^/console/(?!platform/)[^/]+/")


def page_key(url: str) -> str:
    """URLs that differ only by ids (numbers, UUIDs, the org's slug) are one page for the crawl: an operator
    sees each org page once, not once per org. Query values are ignored altogether: a list filtered by one
    status looks like it filtered by another.
    """
    parts = urlsplit(url)
    keys = sorted({key for key, _ in parse_qsl(parts.query, keep_blank_values=True)})
    path = ORG_SEGMENT.sub("/console/ORG/", ID_SEGMENT.sub("N", parts.path))
    return path + ("?" + "&".join(keys) if keys else "")


def shot_name(path: str, crawl: Crawl) -> str:
    """A file name per checked page: its pattern, plus a short hash for an extra page of a shared pattern."""
    key = page_key(path)
    name = re.sub(r"[^a-zA-Z0-9]+", "-", key).strip("-")[:80] or "root"
    if crawl.key(path) != key:
        name += "-" + hashlib.sha1(path.encode()).hexdigest()[:6]
    return name


def followable(url: str, origin: str) -> str | None:
    """The same-origin path (with query) of a link worth visiting, or None."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != origin or SKIPPED_PATHS.search(parts.path):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


LINKS_JS = "() => [...document.querySelectorAll('a[href]:not([download])')].map(a => a.href)"


# ---------------------------------------------------------------------------------------- checks per page

# Each page records CSP violations itself: the event fires in the page; an init script runs via CDP, so the
# page's own CSP (script-src 'self') does not block it.
CSP_LISTENER_JS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', e => window.__cspViolations.push(
  `${e.violatedDirective} blocked ${e.blockedURI || 'inline'} (${e.sourceFile || ''}:${e.lineNumber || ''})`));
"""
OVERFLOW_JS = "() => [document.documentElement.scrollWidth, window.innerWidth]"
# The widest element that sticks out past the right edge: names the culprit in the report.
CULPRIT_JS = """() => {
  let worst = null, right = window.innerWidth;
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > right + 1 && (!worst || r.right > worst.r)) worst = {r: r.right, el};
  }
  if (!worst) return '';
  const el = worst.el;
  return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.className && typeof el.className === 'string'
    ? '.' + el.className.trim().split(/\\s+/).join('.') : ''} reaches ${Math.round(worst.r)} px`;
}"""
# Pico fades colours over 0.2 s: after a theme switch, wait until the page shows its final colours (axe and
# the screenshot would otherwise judge a mix of both themes). Only transitions: they always end.
SETTLE_JS = """() => {
  getComputedStyle(document.documentElement).color;
  return Promise.all(document.getAnimations().filter(a => a instanceof CSSTransition)
    .map(a => a.finished.catch(() => null))).then(() => true);
}"""
AXE_RUN_JS = """async () => {
  const result = await axe.run(document, {resultTypes: ['violations']});
  // For colour contrast, the colours and ratio of the first element: what to change, at a glance.
  const detail = node => {
    const data = (node.any[0] || {}).data || {};
    return data.contrastRatio ? ` (${data.fgColor} on ${data.bgColor}: ${data.contrastRatio}, needs ` +
      `${data.expectedContrastRatio})` : '';
  };
  return result.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
    id: v.id, impact: v.impact, help: v.help, detail: detail(v.nodes[0]),
    targets: v.nodes.slice(0, 3).map(n => n.target.join(' ')), count: v.nodes.length}));
}"""


@dataclass
class Crawl:
    """One role's crawl: the pages it found and every fault, as lines naming page, width and theme."""

    role: Role
    origin: str
    failures: list[str] = field(default_factory=list)
    pages: dict[str, str] = field(default_factory=dict)  # page key → the first URL found for it
    skipped: list[str] = field(default_factory=list)
    beyond_cap: set[str] = field(default_factory=set)  # pages found after PAGE_CAP: not checked, but named

    def key(self, path: str) -> str:
        """Extra pages are checked each as itself (an app of each kind); links found collapse by page_key."""
        return path if path in self.role.extra else page_key(path)

    def fail(self, path: str, width: int, theme: str, problem: str) -> None:
        self.failures.append(f"{path} @{width} {theme}: {problem}")


def watch(page) -> list[tuple[str, str]]:
    """Console errors and CSP messages of `page` as (text, the URL it names), collected as they come."""
    seen: list[tuple[str, str]] = []
    page.on("console", lambda m: seen.append((f"console {m.type}: {m.text}", m.location.get("url", "")))
            if m.type == "error" or "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: seen.append((f"page error: {error}", "")))
    page.add_init_script(CSP_LISTENER_JS)
    return seen


def crawl_role(context_for, crawl: Crawl, axe_source: str) -> None:
    """Breadth-first over same-origin links at 1280 px (checking each page as it goes, axe included), then
    every page found again at the other widths. `context_for(width)` gives the role's signed-in context."""
    first, *others = sorted(WIDTHS, key=lambda width: width != AXE_WIDTH)
    page = context_for(first).new_page()
    seen = watch(page)
    queue = deque([crawl.role.start, *crawl.role.extra])
    for path in queue:
        crawl.pages.setdefault(crawl.key(path), path)
    landed: set[str] = set()  # where each visit ended up: "/", "/console/" and "/console/acme/" are one page
    while queue:
        path = queue.popleft()
        if not visit(page, seen, crawl, path, first, axe_source, landed):
            continue
        for href in page.evaluate(LINKS_JS):
            found = followable(href, crawl.origin)
            if not found or page_key(found) in crawl.pages or found in crawl.role.extra:
                continue
            if len(crawl.pages) >= PAGE_CAP:
                crawl.beyond_cap.add(page_key(found))
                continue
            crawl.pages[page_key(found)] = found
            queue.append(found)
    for width in others:
        page = context_for(width).new_page()
        seen = watch(page)
        for path in list(crawl.pages.values()):
            visit(page, seen, crawl, path, width, None)


def visit(page, seen: list[tuple[str, str]], crawl: Crawl, path: str, width: int, axe_source: str | None,
          landed: set[str] | None = None) -> bool:
    """Load `path`, check it in light then dark, screenshot both; False if it was not a page to crawl."""
    seen.clear()
    page.emulate_media(color_scheme="light")
    response = load(page, crawl, path, width, landed)
    if response is None:
        crawl.pages.pop(crawl.key(path), None)
        return False
    folder = SCREENSHOTS / crawl.role.name
    folder.mkdir(parents=True, exist_ok=True)
    for theme in ("light", "dark"):
        page.emulate_media(color_scheme=theme)
        page.evaluate(SETTLE_JS)
        scroll_width, inner_width = page.evaluate(OVERFLOW_JS)
        if scroll_width > inner_width + 1:
            crawl.fail(path, width, theme, f"scrolls sideways: {scroll_width} px wide in a {inner_width} px "
                                           f"window ({page.evaluate(CULPRIT_JS)})")
        if axe_source is not None:
            if not page.evaluate("() => typeof axe !== 'undefined'"):
                page.evaluate(axe_source)
            for violation in page.evaluate(AXE_RUN_JS):
                crawl.fail(path, width, theme, "axe {impact} {id} ({help}) on {count} element(s), e.g. "
                                               "{targets}{detail}".format(**violation))
        page.screenshot(path=str(folder / f"{shot_name(path, crawl)}-{width}-{theme}.png"))
    for violation in page.evaluate("() => window.__cspViolations || []"):
        crawl.fail(path, width, "both", f"CSP violation: {violation}")
    for message, url in seen:
        # Chrome logs a document's own 4xx as "Failed to load resource"; the status is judged in load() (a
        # 404 page is a page to check too). A stylesheet's or script's failure is still a fault.
        if not (url == response.url and message.endswith(f"status of {response.status} ({response.status_text})")
                and 400 <= response.status < 500):
            crawl.fail(path, width, "both", f"{message} [{url}]" if url else message)
    return True


def load(page, crawl: Crawl, path: str, width: int, landed: set[str] | None):
    """Go to `path`; its response, or None for what is not a page to check: a download, a file that is not
    HTML, or (at the first width, `landed` given) a redirect to a page already crawled."""
    try:
        response = page.goto(crawl.origin + path, wait_until="load")
    except PlaywrightError as exc:  # Playwright does not render a download
        if "Download is starting" not in str(exc):
            raise
        response = None
    if response is None or "attachment" in (response.headers.get("content-disposition") or ""):
        crawl.skipped.append(f"{path} (a download)")
        return None
    if response.status >= 500:
        crawl.fail(path, width, "light", f"HTTP {response.status}")
    if not (response.headers.get("content-type") or "").startswith("text/html"):
        crawl.skipped.append(f"{path} (not a page: {response.headers.get('content-type')})")
        return None
    if landed is not None and path not in crawl.role.extra:  # an extra page is checked wherever it lands
        final = followable(page.url, crawl.origin) or page.url
        if final != path and page_key(final) in landed | set(crawl.pages):
            return None
        landed.add(page_key(final))
    if crawl.role.email and urlsplit(page.url).path == "/login" and path != "/login":
        crawl.fail(path, width, "light", "signed out: the page sent the crawler to /login")
    return response
