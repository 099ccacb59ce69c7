"""Forms of the second-factor pages: a code, an authenticator app's enrolment, the password that removes one."""

from django import forms
from django.utils.translation import gettext_lazy as _

from identity.mfa.services import NAME_MAX_LENGTH, CodeKind


class CodeForm(forms.Form):
    """A code from an authenticator app or a recovery code; `kind` says which the person chose."""

    kind = forms.ChoiceField(choices=[(kind.value, kind.value) for kind in CodeKind], widget=forms.HiddenInput)
    code = forms.CharField(label=_("Code"), max_length=64, strip=True,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "autofocus": True,
                                                         "autocapitalize": "off", "spellcheck": "false"}))

    def __init__(self, *args, kind: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if kind is not None:
            self.fields["kind"].initial = kind
        if (kind or self.data.get("kind")) == CodeKind.RECOVERY:
            self.fields["code"].label = _("Recovery code")
            self.fields["code"].help_text = _("One of the codes you saved when you set up two-step verification, "
                                              "e.g. ABCD-EFGH-JKMN. Each works once.")
        else:
            self.fields["code"].label = _("Code from your authenticator app")
            self.fields["code"].widget.attrs["inputmode"] = "numeric"
            self.fields["code"].help_text = _("The 6-digit code your app shows now.")


class TotpEnrolForm(forms.Form):
    name = forms.CharField(label=_("Name it (optional)"), max_length=NAME_MAX_LENGTH, required=False,
                           help_text=_("So you can tell your authenticators apart, e.g. “Phone”."))
    code = forms.CharField(label=_("Code from your authenticator app"), max_length=64,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                         "autocapitalize": "off", "spellcheck": "false"}),
                           help_text=_("After adding the account, enter the 6-digit code the app shows."))


class ConfirmPasswordForm(forms.Form):
    password = forms.CharField(label=_("Your password"), max_length=4096, strip=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class ConfirmRemovalForm(forms.Form):
    """Proof that the person at the keyboard is the account's owner: the password, or a current code."""

    password = forms.CharField(label=_("Your password"), max_length=4096, strip=False, required=False,
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))
    code = forms.CharField(label=_("Or a code from one of your authenticator apps"), max_length=64, required=False,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                         "autocapitalize": "off", "spellcheck": "false"}))

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("password") and not cleaned.get("code") and not self.errors:
            raise forms.ValidationError(_("Enter your password, or a code from one of your authenticator apps."))
        return cleaned
