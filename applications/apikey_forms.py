"""The console form that creates an API key: name, scopes the creator holds, expiry date, allow-list."""

from datetime import datetime, time

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from applications.apikey_services import API_KEY_NAME_MAX, allowed_ips_clean
from applications.forms import split_lines
from config.exceptions import DomainError


class ApiKeyCreateForm(forms.Form):
    """Offers only the scopes in `held`; the service checks them again, along with everything else."""

    name = forms.CharField(label=_lazy("Name"), max_length=API_KEY_NAME_MAX,
                           help_text=_lazy("What uses this key, e.g. “HR sync job”."))
    scopes = forms.MultipleChoiceField(
        label=_lazy("Scopes"), widget=forms.CheckboxSelectMultiple,
        help_text=_lazy("What the key may do. You can grant only permissions you hold yourself."))
    expires_on = forms.DateField(
        label=_lazy("Expires on (optional)"), required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_lazy("The key stops working at the end of this day in your time zone. Empty: it never expires."))
    allowed_ips = forms.CharField(
        label=_lazy("IP allow-list (optional)"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "autocomplete": "off", "spellcheck": "false"}),
        help_text=_lazy("One address or CIDR network per line, e.g. 203.0.113.0/24 or 2001:db8::/32. "
                        "Empty: any address."))
    application = forms.ModelChoiceField(
        label=_lazy("Application (optional)"), queryset=None, required=False,
        empty_label=_lazy("None: a key of the organization"),
        help_text=_lazy("Tie the key to one application; it stops working while that application is disabled."))

    def __init__(self, *args, held: frozenset[str], applications, allowlist_required: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["scopes"].choices = [(name, name) for name in sorted(held)]
        self.fields["application"].queryset = applications
        if allowlist_required:
            # The org (or the platform) refuses keys without a list (api_key_allowlist_required): say so up front.
            field = self.fields["allowed_ips"]
            field.required = True
            field.label = _("IP allow-list")
            field.help_text = _("One address or CIDR network per line, e.g. 203.0.113.0/24 or 2001:db8::/32. "
                                "Required: every API key here must list the addresses it is used from.")
            field.error_messages["required"] = _("Every API key here must have an IP allow-list: list the "
                                                 "addresses or networks (CIDR) this key is used from.")

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("A key needs a name that says what uses it."))
        return name

    def clean_expires_on(self):
        day = self.cleaned_data.get("expires_on")
        if day is not None and day < timezone.localdate():
            raise forms.ValidationError(_("The expiry is in the past; choose a later date or none."))
        return day

    def clean_allowed_ips(self) -> list[str]:
        try:
            return allowed_ips_clean(split_lines(self.cleaned_data.get("allowed_ips", "")))
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None

    def expires_at(self) -> datetime | None:
        """The last moment of the chosen day in the viewer's zone (identity/time_zone.py), or None.

        The end of the day, not the next midnight: shown back in that zone it is the day picked
        ("30 Jun 2027, 23:59 PDT"), where the next midnight read as the day after.
        """
        day = self.cleaned_data.get("expires_on")
        if day is None:
            return None
        return timezone.make_aware(datetime.combine(day, time.max))

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        return {"name": data["name"], "scopes": list(data["scopes"]), "expires_at": self.expires_at(),
                "allowed_ips": data["allowed_ips"], "application": data["application"]}
