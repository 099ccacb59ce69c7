"""Console forms for the email queue: the list's filters and the cancel reason."""

from django import forms
from django.utils.translation import gettext_lazy as _

from emailqueue.models import OutboundEmail


class EmailFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("State"), required=False, choices=[("", _("Any state")), *OutboundEmail.Status.choices]
    )
    recipient = forms.CharField(
        label=_("Recipient starts with"), required=False, max_length=254,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    before = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)

    def clean_recipient(self) -> str:
        return self.cleaned_data["recipient"].strip()


class PlatformEmailFilterForm(EmailFilterForm):
    org = forms.CharField(
        label=_("Organization"), required=False, max_length=50,
        help_text=_("An organization's slug, or “-” for mail that belongs to no organization."),
    )

    field_order = ["org", "status", "recipient"]

    def clean_org(self) -> str:
        return self.cleaned_data["org"].strip().lower()


class EmailCancelForm(forms.Form):
    reason = forms.CharField(label=_("Reason (kept in the audit log)"), max_length=500, required=False)
