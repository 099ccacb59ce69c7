"""Console forms for webhook endpoints: URL, description and the events to send (grouped by noun)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from audit.events import WEBHOOK_EVENTS
from config.outbox import OutboxFields


def event_choices() -> list[tuple[str, str]]:
    return [(action.name, f"{action.name} — {action.description}") for action in WEBHOOK_EVENTS]


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label=_("Endpoint URL"), max_length=2000,
        widget=forms.URLInput(attrs={"placeholder": "https://hooks.example.com/gatehouse", "autocomplete": "off"}),
        help_text=_("Where events are POSTed, signed per the Standard Webhooks specification. It must be "
                    "https:// (or http://) on a public address."),
    )
    description = forms.CharField(label=_("Description"), max_length=200, required=False,
                                  help_text=_("What receives these events, for the people who read this list."))
    events = forms.MultipleChoiceField(
        label=_("Events to send"), choices=event_choices, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one event to send.")},
    )

    def clean_url(self) -> str:
        return self.cleaned_data["url"].strip()


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(label=_("State"), required=False,
                               choices=[("", _("Any state")), *OutboxFields.Status.choices])
    before = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)
