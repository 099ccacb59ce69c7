"""The org settings form: display name, sign-in rules and password policy, in one submission."""

from django import forms
from django.utils.translation import gettext_lazy as _lazy

from identity.models import PasswordPolicy
from orgs.models import Organization
from orgs.services import POLICY_LIMITS

ORG_FIELDS = ("name", "notify_new_device_sign_in", "mfa_policy", "session_max_age_minutes")
POLICY_FIELDS = ("min_length", "check_common", "history_count", "max_age_days")


def _whole_number(*, label, limits, required=True, help_text=""):
    low, high = limits
    return forms.IntegerField(label=label, min_value=low, max_value=high, required=required, help_text=help_text)


class OrgSettingsForm(forms.Form):
    name = forms.CharField(label=_lazy("Display name"), max_length=150,
                           help_text=_lazy("Shown in the console and on sign-in pages reached from this "
                                           "organization's applications."))
    notify_new_device_sign_in = forms.BooleanField(
        label=_lazy("Email members when they sign in from a new device"), required=False)
    mfa_policy = forms.ChoiceField(
        label=_lazy("Multi-factor authentication"), choices=Organization.MfaPolicy.choices,
        widget=forms.RadioSelect,
        help_text=_lazy("Stored now; enforced at sign-in once multi-factor sign-in is available."))
    session_max_age_minutes = _whole_number(
        label=_lazy("Maximum sign-in age (minutes)"), limits=Organization.SESSION_MAX_AGE_LIMITS, required=False,
        help_text=_lazy("Someone who signed in longer ago than this is asked for their password again before "
                        "using this console. Leave empty for the platform's session lifetime."))
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
        if read_only:
            for field in self.fields.values():
                field.disabled = True

    @property
    def org_changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in ORG_FIELDS}

    @property
    def policy_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in POLICY_FIELDS}
