"""The sign-in form of a plain GET /login, rendered once per language and brand, then filled in per request.

Rendering identity/login.html cost ~2.3 ms of CPU, four fifths of a GET /login and a fifth of a hosted
sign-in besides the password hash (bench/login_steps.py). Two visitors who see the same language and
brand get the same page but for two values: the CSRF token and the `next` address (in the form, and in
the forgot-password link's query). So the first GET of each (language, brand, whether there is a `next`)
renders the page with a stand-in for each, keeps it, and every later GET puts that request's values in
their places, escaped exactly as the template escapes them (django.utils.html.escape): the HTML is byte
for byte what rendering would give (identity/tests/test_signin_page.py compares them).

Rendered as usual, never kept: a page with messages to show, a form with errors (a refused POST: its
bound form, from identity.views.login), and everything under DEBUG (templates edited while the server
runs). A change of settings (tests) empties the memory, and so does reaching MAX_PAGES (an org's brand
is part of the key, and orgs are many).
"""

import re
import threading
from urllib.parse import quote

from django.conf import settings
from django.contrib.messages import get_messages
from django.core.signals import setting_changed
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import render
from django.utils.html import escape
from django.utils.translation import get_language

from identity.flows import flow_origin_org
from identity.forms import PasswordStepForm
from orgs.context_processors import HOSTED_ORG_ATTR, hosted_brand_of

TEMPLATE = "identity/login.html"
MAX_PAGES = 1000
# Letters and digits only: escaping leaves them as they are, so each shows up in the HTML unchanged.
_CSRF_STAND_IN = "GatehouseCsrfStandIn7c1e9b"
_NEXT_STAND_IN = "GatehouseNextStandIn4d82fa"
_NEXT_QUERY_STAND_IN = "GatehouseNextQueryStandIn93b0c5"  # `next` in a link's query string
_STAND_INS = re.compile(f"{_CSRF_STAND_IN}|{_NEXT_STAND_IN}|{_NEXT_QUERY_STAND_IN}")

_pages: dict[tuple, str] = {}
_lock = threading.Lock()


def _forget(**kwargs) -> None:
    with _lock:
        _pages.clear()


setting_changed.connect(_forget, dispatch_uid="gatehouse-signin-page")


def next_query(next_url: str) -> str:
    """`next_url` as a query string's value: the page's other links (forgot your password?) carry it, so the
    sign-in they lead back to still ends at the application, wearing its org's branding."""
    return quote(next_url, safe="")


def wear_origin_brand(request, next_url: str, origin=None) -> None:
    """A hosted page of a sign-in that an org's application started (`next_url` is its /oauth/authorize)
    wears that org's branding. `origin`: flow_origin_org(next_url), when the caller has it already."""
    origin = origin or (flow_origin_org(next_url) if next_url else None)
    if origin is not None:
        setattr(request, HOSTED_ORG_ATTR, origin.pk)


def _render(request, next_url: str, csrf_token: str | None = None, *, form=None,
            query: str | None = None) -> HttpResponse:
    context: dict[str, object] = {
        "form": form if form is not None else PasswordStepForm(initial={"next": next_url}),
        "next_query": next_query(next_url) if query is None else query,
    }
    if csrf_token is not None:
        context["csrf_token"] = csrf_token
    return render(request, TEMPLATE, context)


def signin_page(request, next_url: str, form=None) -> HttpResponse:
    """The sign-in form, with `next_url` in it (already checked by identity.redirects.safe_next_url). `form`:
    a bound form, with its values and errors (a refused POST), rendered as it is; None for a GET's."""
    if form is not None or settings.DEBUG or len(get_messages(request)):
        return _render(request, next_url, form=form)
    key = (get_language(), hosted_brand_of(request), bool(next_url))
    page = _pages.get(key)
    if page is None:
        page = _render(request, _NEXT_STAND_IN if next_url else "", csrf_token=_CSRF_STAND_IN,
                       query=_NEXT_QUERY_STAND_IN if next_url else "").content.decode()
        with _lock:
            if len(_pages) >= MAX_PAGES:
                _pages.clear()
            _pages[key] = page
    values = {_CSRF_STAND_IN: get_token(request), _NEXT_STAND_IN: escape(next_url),
              _NEXT_QUERY_STAND_IN: escape(next_query(next_url))}
    return HttpResponse(_STAND_INS.sub(lambda match: values[match.group()], page))
