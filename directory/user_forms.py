"""Console forms for the users pages: the list's filters, inviting a user, editing a profile and an address."""

from django import forms
from django.utils.translation import gettext_lazy as _

from directory.models import Group, User
from directory.selectors import USER_SORTS, user_cursor_decode
from orgs.models import Membership

SORT_CHOICES = [("email", _("Email (A–Z)")), ("name", _("Name (A–Z)")), ("created", _("Newest first"))]
assert {value for value, _label in SORT_CHOICES} == set(USER_SORTS)


class _OrgGroupsMixin:
    """Offers only this org's groups: another org's group id is an invalid choice, never a lookup."""

    def _limit_groups(self, org) -> None:
        name = "group" if "group" in self.fields else "groups"
        self.fields[name].queryset = Group.objects.for_org(org).order_by("name")


class UserFilterForm(_OrgGroupsMixin, forms.Form):
    q = forms.CharField(
        label=_("Email or name starts with"), required=False, max_length=254,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    status = forms.ChoiceField(label=_("Status"), required=False,
                               choices=[("", _("Any status")), *Membership.Status.choices])
    role = forms.ChoiceField(label=_("Role"), required=False, choices=[("", _("Any role")), *Membership.Role.choices])
    group = forms.ModelChoiceField(label=_("Group"), required=False, queryset=Group.objects.none(),
                                   empty_label=_("Any group"))
    sort = forms.ChoiceField(label=_("Sort by"), required=False, choices=SORT_CHOICES)
    after = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self._limit_groups(org)

    def clean_q(self) -> str:
        return self.cleaned_data["q"].strip()

    def clean_sort(self) -> str:
        return self.cleaned_data["sort"] or "email"

    def clean(self):
        cleaned = super().clean()
        cursor = cleaned.get("after")
        cleaned["after"] = None
        if cursor and cleaned.get("sort"):
            try:
                cleaned["after"] = user_cursor_decode(cursor, cleaned["sort"])
            except ValueError:
                self.add_error(None, _("This page link is not valid any more; start again from the first page."))
        return cleaned


def _role_choices(*, may_grant_owner: bool) -> list[tuple[str, str]]:
    return [(value, label) for value, label in Membership.Role.choices
            if may_grant_owner or value != Membership.Role.OWNER]


class UserInviteForm(_OrgGroupsMixin, forms.Form):
    email = forms.EmailField(label=_("Email"), max_length=254,
                             widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    full_name = forms.CharField(
        label=_("Full name"), required=False, max_length=200,
        help_text=_("Used only for a new account; an existing account keeps the name its owner chose."),
    )
    role = forms.ChoiceField(label=_("Role"), initial=Membership.Role.MEMBER)
    groups = forms.ModelMultipleChoiceField(label=_("Groups"), required=False, queryset=Group.objects.none(),
                                            widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, org, may_grant_owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self._limit_groups(org)
        self.fields["role"].choices = _role_choices(may_grant_owner=may_grant_owner)

    def clean_full_name(self) -> str:
        return self.cleaned_data["full_name"].strip()


class UserProfileForm(forms.Form):
    full_name = forms.CharField(label=_("Full name"), required=False,
                                max_length=User._meta.get_field("full_name").max_length)

    def clean_full_name(self) -> str:
        return self.cleaned_data["full_name"].strip()


class UserEmailChangeForm(forms.Form):
    """A new address for one member; the service checks it and sends the confirmation link there."""

    new_email = forms.EmailField(
        label=_("New email address"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}),
        help_text=_("The new address gets a link; the change takes effect when its owner opens it, signed in "
                    "as this account. The current address is told."),
    )

    def clean_new_email(self) -> str:
        return self.cleaned_data["new_email"].strip()


class RoleChangeForm(forms.Form):
    """A new role for one member; the owner role is offered only to those who may grant it."""

    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args, may_grant_owner: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = _role_choices(may_grant_owner=may_grant_owner)
