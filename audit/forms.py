"""Console forms for the audit log: the list's filters (an org's and the operator's)."""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from audit.selectors import PLATFORM_ONLY, Cursor
from audit.services import RETENTION_DAYS_LIMITS
from orgs.models import Organization

_ACTION = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)*\.?$")
_SEARCH = {"type": "search", "autocomplete": "off"}


class AuditFilterForm(forms.Form):
    actor = forms.CharField(
        label=_("Actor email starts with"), required=False, max_length=254, widget=forms.TextInput(attrs=_SEARCH),
    )
    action = forms.CharField(
        label=_("Action"), required=False, max_length=64, widget=forms.TextInput(attrs=_SEARCH),
        help_text=_("Exact, like “login.failed”, or every action under a prefix ending in a dot, like “login.”."),
    )
    target = forms.CharField(
        label=_("Target"), required=False, max_length=254, widget=forms.TextInput(attrs=_SEARCH),
        help_text=_("The target's id, or the start of its name."),
    )
    date_from = forms.DateField(
        label=_("From (day)"), required=False, widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    date_to = forms.DateField(
        label=_("To (day, included)"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    ip = forms.GenericIPAddressField(
        label=_("IP address"), required=False, unpack_ipv4=True, widget=forms.TextInput(attrs=_SEARCH),
    )
    before = forms.CharField(required=False, max_length=40, widget=forms.HiddenInput)

    def clean_actor(self) -> str:
        return self.cleaned_data["actor"].strip()

    def clean_target(self) -> str:
        return self.cleaned_data["target"].strip()

    def clean_action(self) -> str:
        action = self.cleaned_data["action"].strip().lower()
        if action and not _ACTION.match(action):
            raise forms.ValidationError(
                _("Actions look like “login.failed” (or “login.” for every login action): "
                  "lowercase letters, digits, “_” and dots.")
            )
        return action

    def clean_before(self) -> Cursor | None:
        value = self.cleaned_data["before"].strip()
        if not value:
            return None
        try:
            return Cursor.decode(value)
        except (ValueError, OverflowError):
            raise forms.ValidationError(_("This page link is not valid; start again from the newest events.")) from None

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("date_from"), cleaned.get("date_to")
        if start and end and start > end:
            self.add_error("date_to", _("The end day must be on or after the start day."))
        return cleaned

    def filters(self) -> dict:
        """The filters to apply (empty when the form is invalid: bad filters are shown, not applied)."""
        if not self.is_valid():
            return {}
        return {k: v for k, v in self.cleaned_data.items() if v not in (None, "")}


class PlatformAuditFilterForm(AuditFilterForm):
    org = forms.CharField(
        label=_("Organization"), required=False, max_length=50, widget=forms.TextInput(attrs=_SEARCH),
        help_text=_("An organization's slug, or “-” for platform events that belong to no organization."),
    )

    field_order = ["org", "actor", "action", "target", "date_from", "date_to", "ip"]

    def clean_org(self) -> Organization | str | None:
        slug = self.cleaned_data["org"].strip().lower()
        if not slug:
            return None
        if slug == PLATFORM_ONLY:
            return PLATFORM_ONLY
        org = Organization.objects.filter(slug=slug).first()
        if org is None:
            raise forms.ValidationError(_("There is no organization with this slug."))
        return org


class AuditRetentionForm(forms.Form):
    days = forms.IntegerField(
        label=_("Keep audit events for (days)"), required=False,
        min_value=RETENTION_DAYS_LIMITS[0], max_value=RETENTION_DAYS_LIMITS[1],
        help_text=_("Events older than this are purged every night; a purge event records what went, so the "
                    "log can still be verified. Leave empty to keep every event for ever."),
    )
