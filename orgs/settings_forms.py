"""The org settings forms: name, sign-in rules and password policy in one submission; branding in another."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _lazy

from identity.models import PasswordPolicy
from orgs.branding import LOGO_MAX_BYTES, LOGO_MAX_SIDE
from orgs.models import Organization
from orgs.settings_services import POLICY_LIMITS

ORG_FIELDS = ("name", "notify_new_device_sign_in", "mfa_policy", "mfa_grace_days", "session_max_age_minutes",
              "lockout_threshold", "api_keys_require_allowlist")
POLICY_FIELDS = ("min_length", "check_common", "history_count", "max_age_days")


def _whole_number(*, label, limits, required=True, help_text=""):
    low, high = limits
    return forms.IntegerField(label=label, min_value=low, max_value=high, required=required, help_text=help_text)


class OrgSettingsForm(forms.Form):
    name = forms.CharField(label=_lazy("Name"), max_length=150,
                           help_text=_lazy("Shown in the console, and on sign-in pages reached from this "
                                           "organization's applications unless a display name is set under "
                                           "Branding."))
    notify_new_device_sign_in = forms.BooleanField(
        label=_lazy("Email members when they sign in from a new device"), required=False)
    mfa_policy = forms.ChoiceField(
        label=_lazy("Multi-factor authentication"), choices=Organization.MfaPolicy.choices,
        widget=forms.RadioSelect,
        help_text=_lazy("Who must sign in with an authenticator app or a passkey besides their password, here "
                        "and in this organization's applications. Platform operators are covered by the "
                        "platform's own setting."))
    mfa_grace_days = _whole_number(
        label=_lazy("Days to set up a second factor"), limits=Organization.MFA_GRACE_DAYS_LIMITS, required=False,
        help_text=_lazy("Someone the policy covers who has no second factor yet may skip setting one up for this "
                        "many days after the policy covers them (or they join); after that, they cannot sign in "
                        "until they set one up. 0: at their next sign-in."))
    session_max_age_minutes = _whole_number(
        label=_lazy("Maximum sign-in age (minutes)"), limits=Organization.SESSION_MAX_AGE_LIMITS, required=False,
        help_text=_lazy("Someone who signed in longer ago than this is asked for their password again before "
                        "using this console. Leave empty for the platform's session lifetime."))
    lockout_threshold = _whole_number(
        label=_lazy("Lockout after failed sign-ins"), limits=Organization.LOCKOUT_THRESHOLD_LIMITS, required=False,
        help_text=_lazy("Failed attempts for one email address before signing in with it is paused, when the "
                        "sign-in started from this organization's applications. It can only be stricter than "
                        "the platform's setting (%(default)s), which applies when this is empty or higher."))
    api_keys_require_allowlist = forms.BooleanField(
        label=_lazy("Require an IP allow-list on every API key"), required=False,
        help_text=_lazy("New keys must list the addresses they may be used from, and keys that list none stop "
                        "working at once (every request is refused) until they are replaced."))
    min_length = _whole_number(label=_lazy("Minimum password length"), limits=POLICY_LIMITS["min_length"])
    check_common = forms.BooleanField(label=_lazy("Refuse common passwords"), required=False)
    history_count = _whole_number(
        label=_lazy("Passwords remembered (no reuse)"), limits=POLICY_LIMITS["history_count"],
        help_text=_lazy("0 allows reusing a previous password."))
    max_age_days = _whole_number(
        label=_lazy("Maximum password age (days)"), limits=POLICY_LIMITS["max_age_days"], required=False,
        help_text=_lazy("An older password must be changed at the next sign-in. Leave empty for no limit."))

    def __init__(self, *args, org: Organization, read_only: bool = False, **kwargs):
        policy = PasswordPolicy.objects.filter(org=org).first() or PasswordPolicy(org=org)
        initial = {name: getattr(org, name) for name in ORG_FIELDS}
        initial.update({name: getattr(policy, name) for name in POLICY_FIELDS})
        kwargs["initial"] = {**initial, **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        self.fields["lockout_threshold"].help_text = self.fields["lockout_threshold"].help_text % {
            "default": settings.GATEHOUSE_LOCKOUT_THRESHOLD}
        if settings.GATEHOUSE_API_KEYS_REQUIRE_ALLOWLIST:
            self.fields["api_keys_require_allowlist"].help_text = _lazy(
                "This Gatehouse already requires an IP allow-list on every organization's API keys, whatever "
                "this says.")
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    def clean_mfa_grace_days(self):
        # Left out of a submission (older clients of this form): the stored value stays.
        value = self.cleaned_data.get("mfa_grace_days")
        return self.initial["mfa_grace_days"] if value is None else value

    @property
    def org_changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in ORG_FIELDS}

    @property
    def policy_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in POLICY_FIELDS}


class OrgBrandingForm(forms.Form):
    """Display name, accent colour and logo of the hosted pages. The logo's content is checked by
    orgs.branding.logo_inspect (decoded by Pillow); only its size is checked here, before reading it."""

    display_name = forms.CharField(
        label=_lazy("Display name on sign-in pages"), max_length=150, required=False,
        help_text=_lazy("Leave empty to show the organization's name."))
    use_accent = forms.BooleanField(label=_lazy("Use an accent colour on sign-in pages"), required=False)
    # A colour input always submits a colour, so the checkbox above says whether to use it.
    accent_color = forms.RegexField(
        label=_lazy("Accent colour"), regex=r"^#[0-9a-fA-F]{6}$", required=False,
        widget=forms.TextInput(attrs={"type": "color"}),
        error_messages={"invalid": _lazy("Enter the colour as #rrggbb, e.g. #0172ad.")},
        help_text=_lazy("Buttons and links of the sign-in pages take this colour."))
    logo = forms.FileField(
        label=_lazy("Upload a logo"), required=False,
        widget=forms.FileInput(attrs={"accept": "image/png,image/jpeg,image/webp"}),
        help_text=_lazy("PNG, JPEG or WebP, at most %(kb)s KB and %(side)s×%(side)s pixels.")
        % {"kb": LOGO_MAX_BYTES // 1024, "side": LOGO_MAX_SIDE})
    remove_logo = forms.BooleanField(label=_lazy("Remove the current logo"), required=False)

    def __init__(self, *args, org: Organization, read_only: bool = False, **kwargs):
        kwargs["initial"] = {"display_name": org.display_name, "use_accent": bool(org.accent_color),
                             # Pico's own primary colour, so switching the accent on starts from the default.
                             "accent_color": org.accent_color or "#0172ad", **(kwargs.get("initial") or {})}
        super().__init__(*args, **kwargs)
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    def clean_logo(self):
        upload = self.cleaned_data.get("logo")
        if upload and upload.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(
                _lazy("The logo is %(size)s KB; it can be at most %(kb)s KB.")
                % {"size": upload.size // 1024, "kb": LOGO_MAX_BYTES // 1024})
        return upload

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("use_accent") and not cleaned.get("accent_color") and "accent_color" not in self.errors:
            self.add_error("accent_color", _lazy("Choose a colour, or turn the accent colour off."))
        if cleaned.get("logo") and cleaned.get("remove_logo"):
            self.add_error(None, _lazy("Either upload a new logo or remove the current one, not both."))
        return cleaned

    @property
    def branding_values(self) -> dict:
        accent = self.cleaned_data["accent_color"] if self.cleaned_data["use_accent"] else ""
        return {"display_name": self.cleaned_data["display_name"], "accent_color": accent}
