"""Forms of the hosted pages."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from directory.services import password_validate
from directory.time_zones import time_zone_names
from identity.password_policy import password_rules_text


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


def _password_field(label, autocomplete: str, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, max_length=4096, strip=False,
                           widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}), **kwargs)


class SetPasswordForm(forms.Form):
    """A new password typed twice, checked against the password rules for `user`."""

    new_password1 = _password_field(_("New password"), "new-password")
    new_password2 = _password_field(_("Confirm new password"), "new-password")

    def __init__(self, *args, user, extra_org=None, **kwargs):
        self.user = user
        self.extra_org = extra_org
        super().__init__(*args, **kwargs)
        self.fields["new_password1"].help_text = password_rules_text(user=user, extra_org=extra_org)

    def clean(self):
        cleaned_data = super().clean()
        first, second = cleaned_data.get("new_password1"), cleaned_data.get("new_password2")
        if first and second and first != second:
            self.add_error("new_password2", _("The two passwords do not match."))
        elif first:
            try:
                password_validate(user=self.user, password=first, extra_org=self.extra_org)
            except ValidationError as exc:
                self.add_error("new_password1", exc)
        return cleaned_data


class PasswordChangeForm(SetPasswordForm):
    current_password = _password_field(_("Current password"), "current-password")

    field_order = ["current_password", "new_password1", "new_password2"]


class PasswordResetRequestForm(forms.Form):
    email = forms.EmailField(
        label=_("Email"), max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )


class EmailChangeForm(forms.Form):
    new_email = forms.EmailField(label=_("New email address"), max_length=254,
                                 widget=forms.EmailInput(attrs={"autocomplete": "email"}))
    current_password = _password_field(_("Current password"), "current-password")

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_new_email(self):
        new_email = self.cleaned_data["new_email"].strip()
        if new_email.lower() == self.user.email.lower():
            raise ValidationError(_("This is already your email address."))
        return new_email


class TimeZoneForm(forms.Form):
    """The zone the account reads times in; dates picked in forms mean that day there."""

    time_zone = forms.ChoiceField(
        label=_("Time zone"), error_messages={
            "required": _("Choose a time zone, like Europe/Paris or UTC."),
            "invalid_choice": _("“%(value)s” is not a time zone. Choose one from the list, like Europe/Paris or UTC."),
        },
        help_text=_("Times are shown in this zone, and a date you pick means that day in it."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name.replace("_", " ")) for name in time_zone_names()]


def form_add_domain_error(form: forms.Form, exc) -> None:
    """Show a service's DomainError on the field it names, or above the form."""
    field = exc.field
    if field == "password" and "new_password1" in form.fields:
        field = "new_password1"
    form.add_error(field if field in form.fields else None, exc.message)
