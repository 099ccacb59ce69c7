"""Forms of the hosted pages."""

from django import forms
from django.utils.translation import gettext_lazy as _


class PasswordStepForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label=_("Password"), max_length=4096, strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    next = forms.CharField(required=False, max_length=2048, widget=forms.HiddenInput)

    def clean(self):
        cleaned_data = super().clean()
        # `next` is a hidden field, so an error on it would be shown nowhere and block sign-in for
        # good; an unusable value (too long, null characters) is dropped instead, like an off-site one.
        if self.has_error("next"):
            del self.errors["next"]
            cleaned_data["next"] = ""
        return cleaned_data
