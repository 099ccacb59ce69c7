"""A crawl of every console, account and hosted page each role can reach, at 390, 1280 and 1440 px, light and dark.

A page fails on a 5xx, a page wider than the window, a CSP violation, a console error, or an axe-core
violation of serious or critical impact (axe runs at 1280 px). Screenshots land in var/screenshots/<role>/,
which CI keeps as artifacts. Each role's test lists every fault it found at once.
"""

import shutil

import pytest
from playwright.sync_api import expect

from directory.tests.factories import DEFAULT_PASSWORD
from orgs.tests.crawl_support import AXE_JS, HEIGHT, PAGE_CAP, SCREENSHOTS, WIDTHS, Crawl, Role, crawl_role, seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROLES = {
    "owner": Role("owner", "owner@acme.test", "/console/acme/",
                  extra=("/console/acme/no-such-page", "/console/acme/users/999999999/", "{app_web}", "{app_spa}",
                         "{app_native}", "{app_machine}", "{long_member}", "{long_group}")),
    "admin": Role("admin", "admin@acme.test", "/console/acme/"),
    # An auditor reads; a page that manages answers 403, and that error page is checked too.
    "auditor": Role("auditor", "auditor@acme.test", "/console/acme/", extra=("/console/acme/api-keys/new",)),
    "operator": Role("operator", "operator@example.test", "/console/platform/",
                     extra=("/console/platform/overview", "/console/platform/no-such-page")),
    "member": Role("member", "member@acme.test", "/account/", extra=("/console/acme/", "{consent}", "{refused}")),
    # Half-way through signing in: the password was right, the authenticator's code is asked next.
    "signing-in": Role("signing-in", "mfa@acme.test", "/login/verify"),
    "anonymous": Role("anonymous", None, "/login",
                      extra=("/password/reset", "/password/reset/not-a-real-token", "/invitation/not-a-real-token",
                             "/no-such-page", "/account/", "{invitation}")),
}


def sign_in(page, origin: str, email: str) -> None:
    response = page.goto(f"{origin}/login")
    assert response is not None
    assert response.status == 200, f"/login answered {response.status}: the crawl cannot sign in as {email}"
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    # Signed in, or (with an authenticator) asked for its code: either way the password form is gone.
    expect(page.get_by_label("Password", exact=True)).to_have_count(0, timeout=30_000)


@pytest.mark.parametrize("role_name", list(ROLES))
def test_every_page_fits_every_width_in_both_themes_without_errors(role_name, live_server, browser_page,
                                                                 settings):
    settings.GATEHOUSE_WEBHOOKS_ALLOW_PRIVATE = True
    links = seed()
    role = ROLES[role_name]
    role = Role(role.name, role.email, role.start, extra=tuple(path.format(**links) for path in role.extra))
    crawl = Crawl(role=role, origin=live_server.url)
    shutil.rmtree(SCREENSHOTS / role.name, ignore_errors=True)  # no stale picture from an earlier run
    browser = browser_page.context.browser
    contexts: dict[int, object] = {}
    signed_in_state = None

    def context_for(width: int):
        nonlocal signed_in_state
        if width not in contexts:
            contexts[width] = browser.new_context(viewport={"width": width, "height": HEIGHT},
                                                  storage_state=signed_in_state)
            if role.email and signed_in_state is None:
                sign_in(contexts[width].new_page(), crawl.origin, role.email)
                signed_in_state = contexts[width].storage_state()
        return contexts[width]

    try:
        crawl_role(context_for, crawl, AXE_JS.read_text())
    finally:
        for context in contexts.values():
            context.close()

    summary = (f"{role.name}: {len(crawl.pages)} pages crawled at {WIDTHS} px, screenshots in "
               f"{SCREENSHOTS / role.name}; skipped: {', '.join(crawl.skipped) or 'none'}; not reached (over "
               f"{PAGE_CAP} pages): {', '.join(sorted(crawl.beyond_cap)) or 'none'}")
    # Beside the screenshots, so the CI artifact tells what is wrong on which of them.
    (SCREENSHOTS / role.name / "faults.txt").write_text("\n".join([summary, *crawl.failures]) + "\n")
    print(summary)
    assert len(crawl.pages) >= 3, crawl.pages
    assert crawl.failures == [], f"{len(crawl.failures)} faults for {role.name}:\n" + "\n".join(crawl.failures)
