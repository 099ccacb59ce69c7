"""Console forms for applications: one form per kind (it offers what that kind needs) and app roles."""

from datetime import timedelta

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from applications.models import Application
from applications.services import (
    ACCESS_TOKEN_LIFETIME_MAX,
    ACCESS_TOKEN_LIFETIME_MIN,
    REFRESH_TOKEN_LIFETIME_MAX,
    REFRESH_TOKEN_LIFETIME_MIN,
    SECRET_OVERLAP_MAX,
    supported_scopes,
)
from applications.uri_checks import backchannel_logout_uri_problem, uris_check
from config.exceptions import DomainError
from directory.models import Group

URI_WIDGET = forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"})

# Which URI fields each kind is offered; machine apps sign no one in and get none.
KIND_FIELDS = {
    Application.Kind.WEB: ("redirect_uris", "post_logout_redirect_uris", "require_pkce", "backchannel_logout_uri"),
    Application.Kind.SPA: ("redirect_uris", "post_logout_redirect_uris", "allowed_origins", "backchannel_logout_uri"),
    Application.Kind.NATIVE: ("redirect_uris", "post_logout_redirect_uris", "backchannel_logout_uri"),
    Application.Kind.MACHINE: (),
}
OPTIONAL_BY_KIND = {"redirect_uris", "post_logout_redirect_uris", "allowed_origins", "require_pkce",
                    "backchannel_logout_uri"}

REDIRECT_HELP = {
    Application.Kind.WEB: _lazy("One per line, matched exactly. https, or http on 127.0.0.1, [::1] or "
                                "localhost while developing. No fragments or wildcards."),
    Application.Kind.SPA: _lazy("One per line, matched exactly: the page of your app that receives the "
                                "code. https, or http on a loopback host while developing."),
    Application.Kind.NATIVE: _lazy("One per line. A loopback URI (http://127.0.0.1/callback, any port "
                                   "matches) or a reverse-domain scheme (com.example.app:/callback), or https."),
}


def split_lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


class ApplicationForm(forms.Form):
    """Create or edit an app of one kind. URIs are checked by the same rules as the service."""

    name = forms.CharField(label=_lazy("Name"), max_length=255)
    description = forms.CharField(label=_lazy("Description"), max_length=500, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    redirect_uris = forms.CharField(label=_lazy("Redirect URIs"), widget=URI_WIDGET)
    post_logout_redirect_uris = forms.CharField(
        label=_lazy("Post-logout redirect URIs (optional)"), required=False, widget=URI_WIDGET,
        help_text=_lazy("Where the app may send people after signing out. One per line; same rules."))
    allowed_origins = forms.CharField(
        label=_lazy("Allowed origins"), required=False, widget=URI_WIDGET,
        help_text=_lazy("The origins your app's JavaScript calls the token endpoint from, e.g. "
                        "https://app.example.com — one per line, no path."))
    # No max_length here: a longer URI gets the service's message, which says how long it is.
    backchannel_logout_uri = forms.CharField(
        label=_lazy("Back-channel logout URI (optional)"), required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "url"}),
        help_text=_lazy("When someone signs out, or their session, account or membership is ended, Gatehouse "
                        "POSTs a signed logout token here (OIDC Back-Channel Logout). https, at most 500 "
                        "characters, no fragment."))
    allowed_groups = forms.ModelMultipleChoiceField(
        label=_lazy("Allowed groups"), queryset=Group.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_lazy("Only members of these groups may sign in. None chosen: every member of the organization."))
    trusted = forms.BooleanField(
        label=_lazy("Trusted (skip the consent screen)"), required=False,
        help_text=_lazy("For your organization's own apps only: people are not asked to allow access."))
    require_pkce = forms.BooleanField(label=_lazy("Require PKCE"), required=False,
                                      help_text=_lazy("Refuse authorization requests without a code challenge."))
    access_token_lifetime = forms.IntegerField(
        label=_lazy("Access token lifetime (seconds, optional)"), required=False,
        min_value=ACCESS_TOKEN_LIFETIME_MIN, max_value=ACCESS_TOKEN_LIFETIME_MAX,
        help_text=_lazy("Between 60 seconds and 86400 (24 hours). Empty: the deployment's default."))
    refresh_token_lifetime = forms.IntegerField(
        label=_lazy("Refresh token lifetime (seconds, optional)"), required=False,
        min_value=REFRESH_TOKEN_LIFETIME_MIN, max_value=REFRESH_TOKEN_LIFETIME_MAX,
        help_text=_lazy("How long a refresh token may be used after it is issued; every refresh issues a new "
                        "one. Between 3600 (1 hour) and 31536000 (365 days); 86400 is a day, 2592000 is 30 days. "
                        "Empty: the deployment's default."))
    allowed_scopes = forms.MultipleChoiceField(
        label=_lazy("Allowed scopes"), required=False, widget=forms.CheckboxSelectMultiple,
        help_text=_lazy("The scopes the app may ask for; asking for another is refused (invalid_scope). "
                        "None chosen: every scope Gatehouse supports."))

    def __init__(self, *args, org, kind: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org
        self.kind = kind
        for field in OPTIONAL_BY_KIND - set(KIND_FIELDS[kind]):
            del self.fields[field]
        if kind == Application.Kind.MACHINE:
            # A machine app signs no user in: no consent, no group scoping.
            del self.fields["trusted"], self.fields["allowed_groups"]
        else:
            self.fields["redirect_uris"].help_text = REDIRECT_HELP[kind]
            self.fields["allowed_groups"].queryset = Group.objects.for_org(org).order_by("name")
        if kind == Application.Kind.SPA:
            self.fields["allowed_origins"].required = True
        default = settings.OAUTH2_PROVIDER["ACCESS_TOKEN_EXPIRE_SECONDS"]
        self.fields["access_token_lifetime"].widget.attrs["placeholder"] = str(default)
        if kind == Application.Kind.MACHINE:
            del self.fields["refresh_token_lifetime"]  # client credentials issue no refresh token
        else:
            refresh_default = settings.OAUTH2_PROVIDER["REFRESH_TOKEN_EXPIRE_SECONDS"]
            if refresh_default:
                self.fields["refresh_token_lifetime"].widget.attrs["placeholder"] = str(refresh_default)
            self.fields["allowed_scopes"].help_text = _lazy(
                "The scopes the app may ask for; asking for another is refused (invalid_scope). openid is "
                "always included once you choose any. None chosen: every scope Gatehouse supports.")
        scope_names = settings.OAUTH2_PROVIDER["SCOPES"]
        self.fields["allowed_scopes"].choices = [(scope, f"{scope} — {scope_names[scope]}")
                                                 for scope in supported_scopes()]

    def _clean_uris(self, field: str) -> list[str]:
        try:
            return uris_check(split_lines(self.cleaned_data.get(field, "")), kind=self.kind, field=field)
        except DomainError as exc:
            raise ValidationError(exc.message) from None

    def clean_redirect_uris(self):
        return self._clean_uris("redirect_uris")

    def clean_post_logout_redirect_uris(self):
        return self._clean_uris("post_logout_redirect_uris")

    def clean_allowed_origins(self):
        return self._clean_uris("allowed_origins")

    def clean_backchannel_logout_uri(self) -> str:
        uri = (self.cleaned_data.get("backchannel_logout_uri") or "").strip()
        problem = backchannel_logout_uri_problem(uri) if uri else None
        if problem:
            raise ValidationError(problem)
        return uri

    def clean_allowed_scopes(self) -> list[str]:
        chosen = list(self.cleaned_data.get("allowed_scopes") or [])
        if chosen and self.kind != Application.Kind.MACHINE and "openid" not in chosen:
            chosen.append("openid")  # a sign-in app cannot work without it
        return chosen

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("An application needs a name."))
        return name

    def service_kwargs(self) -> dict:
        """cleaned_data in the shape application_create / application_update take."""
        data = self.cleaned_data
        return {
            "name": data["name"],
            "description": data.get("description", ""),
            "redirect_uris": data.get("redirect_uris", []),
            "post_logout_redirect_uris": data.get("post_logout_redirect_uris", []),
            "allowed_origins": data.get("allowed_origins", []),
            "allowed_groups": list(data.get("allowed_groups", [])),
            "trusted": data.get("trusted", False),
            "require_pkce": data.get("require_pkce", False),
            "access_token_lifetime": data.get("access_token_lifetime"),
            "refresh_token_lifetime": data.get("refresh_token_lifetime"),
            "allowed_scopes": data.get("allowed_scopes", []),
            "backchannel_logout_uri": data.get("backchannel_logout_uri", ""),
        }

    @classmethod
    def initial_for(cls, application: Application) -> dict:
        return {
            "name": application.name,
            "description": application.description,
            "redirect_uris": "\n".join(application.redirect_uris.split()),
            "post_logout_redirect_uris": "\n".join(application.post_logout_redirect_uris.split()),
            "allowed_origins": "\n".join(application.allowed_origins.split()),
            "allowed_groups": list(application.allowed_groups.all()),
            "trusted": application.skip_authorization,
            "require_pkce": application.require_pkce,
            "access_token_lifetime": application.access_token_lifetime,
            "refresh_token_lifetime": application.refresh_token_lifetime,
            "allowed_scopes": application.allowed_scopes.split(),
            "backchannel_logout_uri": application.backchannel_logout_uri,
        }


class SecretRotateForm(forms.Form):
    """How long the old secret keeps working after a rotation: none, an hour, a day, or some minutes."""

    OVERLAP_NONE, OVERLAP_HOUR, OVERLAP_DAY, OVERLAP_CUSTOM = "none", "1h", "24h", "custom"
    overlap = forms.ChoiceField(
        # Not required: a bare POST rotates with no overlap, as rotation always did.
        label=_lazy("Keep the old secret working for"), widget=forms.RadioSelect, initial=OVERLAP_NONE, required=False,
        choices=[(OVERLAP_NONE, _lazy("No time: it stops working now")),
                 (OVERLAP_HOUR, _lazy("1 hour")),
                 (OVERLAP_DAY, _lazy("24 hours")),
                 (OVERLAP_CUSTOM, _lazy("A number of minutes (below)"))])
    overlap_minutes = forms.IntegerField(
        label=_lazy("Minutes (with “a number of minutes”)"), required=False, min_value=1,
        max_value=int(SECRET_OVERLAP_MAX.total_seconds() // 60),
        help_text=_lazy("From 1 to 1440 (24 hours)."))

    def clean(self):
        data = super().clean()
        choice = data.get("overlap") or self.OVERLAP_NONE
        fixed = {self.OVERLAP_NONE: timedelta(0), self.OVERLAP_HOUR: timedelta(hours=1),
                 self.OVERLAP_DAY: timedelta(hours=24)}
        if choice in fixed:
            data["overlap_delta"] = fixed[choice]
        elif choice == self.OVERLAP_CUSTOM:
            minutes = data.get("overlap_minutes")
            if minutes is None:
                if "overlap_minutes" not in self.errors:
                    self.add_error("overlap_minutes", _("Enter the number of minutes, from 1 to 1440."))
            else:
                data["overlap_delta"] = timedelta(minutes=minutes)
        return data


class AppRoleForm(forms.Form):
    key = forms.CharField(
        label=_lazy("Key"), max_length=100,
        help_text=_lazy("Sent to the app in tokens and never changes, e.g. app:admin. "
                        "Lowercase letters, digits and . _ : -"))
    name = forms.CharField(label=_lazy("Name"), max_length=150, required=False)
    groups = forms.ModelMultipleChoiceField(
        label=_lazy("Groups that grant this role"), queryset=Group.objects.none(), required=False,
        widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, org, with_key: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["groups"].queryset = Group.objects.for_org(org).order_by("name")
        if not with_key:
            del self.fields["key"]
