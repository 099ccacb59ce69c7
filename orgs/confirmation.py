"""Ask before a destructive console action (issue #13): the page names what will happen and to whom, and only
a POST that carries `confirmed=1` from that page acts. Plain HTML forms, so it works without JavaScript.

A console view opts in with `@confirm_first` on its class and a `confirmation()` method; its own `post` stays
the action. The existing buttons keep posting to the action's URL: that first POST (or a GET, so a link works
too) answers 200 with the confirmation page and changes nothing, writes no audit row. The page posts back to
the same URL with `confirmed=1`, and the view's `post` runs as before.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import wraps
from typing import Any, TypeVar

from django import forms
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

ViewClass = TypeVar("ViewClass", bound=type)

CONFIRM_FIELD = "confirmed"
TEMPLATE = "components/confirm.html"


@dataclass(frozen=True)
class Confirmation:
    """What the confirmation page says.

    `title` is the question ("Suspend the membership of bob@acme.test?"); `consequences` are the effects, one
    sentence each, naming who is affected and how many; `button` is the confirm button's text and so its
    accessible name ("Suspend bob@acme.test"); `cancel_url` leads back without acting. `form` holds inputs the
    action takes (a reason); `keep` holds values carried over unchanged as hidden inputs (a form's answers).
    `refusal`, when the action cannot be done at all, replaces the button: the page says why and leads back
    (the action's own service still refuses a confirmed POST by itself).
    """

    title: str
    consequences: Sequence[str]
    button: str
    cancel_url: str
    cancel_label: str = ""
    note: str = ""
    form: forms.Form | None = None
    keep: dict[str, str] = field(default_factory=dict)
    refusal: str = ""


def is_confirmed(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get(CONFIRM_FIELD) == "1"


def confirmation_response(view: Any, confirmation: Confirmation | None = None, *,
                          form: forms.Form | None = None) -> HttpResponse:
    """The confirmation page for `view` (its own `confirmation()` unless given), inside the console layout.
    `form`: a bound form to show again with its errors, the person's input kept."""
    confirmation = confirmation or view.confirmation()
    if form is not None:
        confirmation = replace(confirmation, form=form)
    request = view.request
    context = {
        "confirmation": confirmation,
        "action_url": request.get_full_path(),
        "confirm_field": CONFIRM_FIELD,
        # The console layout's navigation reads these; platform pages have no org.
        "org": getattr(view, "org", None),
        "org_permissions": getattr(view, "org_permissions", frozenset()),
    }
    return TemplateResponse(request, TEMPLATE, context)


def confirm_first(view_class: ViewClass) -> ViewClass:
    """Class decorator: the view's POST acts only with `confirmed=1`; otherwise, and on GET, it answers with the
    confirmation page. It wraps `post` (and adds `get`) rather than `dispatch`, so the view's org and permission
    checks have run first: another org's object is a 404 on the confirmation page as on the action.

    A view may define `confirm_needed()` (default: always) for actions that ask only sometimes (a view shared by
    suspend and reactivate); when it says no, POST acts at once and GET is not allowed. It runs in `setup`,
    before any permission check, so it reads only the view's own settings, never the database. Put it above
    `@step_up_required`, so the step-up is asked when the person confirms, not when they first click.
    """
    view: Any = view_class
    action: Callable[..., HttpResponse] = view.post
    methods_without_confirmation = list(view.http_method_names)
    setup_view: Callable[..., None] = view.setup

    def needed(self: Any) -> bool:
        check = getattr(self, "confirm_needed", None)
        return True if check is None else bool(check())

    def setup(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        setup_view(self, request, *args, **kwargs)
        if not needed(self):
            # As before: no GET, and a step-up sends the person back to the page of the button, not here.
            self.http_method_names = methods_without_confirmation

    @wraps(action)
    def post(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if needed(self) and not is_confirmed(request):
            return confirmation_response(self)
        return action(self, request, *args, **kwargs)

    def get(self: Any, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return confirmation_response(self)

    view.setup = setup
    view.post = post
    view.get = get
    if "get" not in view.http_method_names:
        view.http_method_names = ["get", *view.http_method_names]
    view.confirms_first = True
    return view_class
