"""Console forms for organizations."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from directory.services import normalize_email
from orgs.models import Organization
from orgs.platform_selectors import user_search_cursor_decode
from orgs.validators import validate_org_slug

SLUG_MAX_LENGTH = 50


def slug_from_name(name: str) -> str:
    """The slug an org's name suggests: Django's slugify without underscores (an org slug has none), cut to
    50 characters. static/console/slugify.js makes the same one as the operator types."""
    slug = re.sub(r"[-_]+", "-", slugify(name).replace("_", "-"))
    return slug[:SLUG_MAX_LENGTH].strip("-")


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    slug = forms.CharField(
        label=_("Slug"), max_length=SLUG_MAX_LENGTH, required=False,
        help_text=_("Used in console addresses, e.g. /console/acme/. Lowercase letters, digits and hyphens. "
                    "Leave it blank to make it from the name."),
        # static/console/slugify.js fills it from the name field as the operator types.
        widget=forms.TextInput(attrs={"data-slug-source": "id_name", "autocomplete": "off"}),
    )
    first_owner_email = forms.EmailField(
        label=_("First owner's email (optional)"), required=False, max_length=254,
        help_text=_("They get an invitation to own the organization, sent when it is created."),
    )

    def clean_name(self) -> str:
        return self.cleaned_data["name"].strip()

    def clean_first_owner_email(self) -> str:
        return normalize_email(self.cleaned_data["first_owner_email"])

    def clean(self):
        cleaned = super().clean()
        name = cleaned.get("name")
        slug = (cleaned.get("slug") or "").strip().lower()
        made_from_name = not slug
        if made_from_name and name:
            slug = slug_from_name(name)
            # Show the slug that was tried, so a clash can be fixed by editing it.
            self.data = self.data.copy()
            self.data[self.add_prefix("slug")] = slug
            if not slug:
                self.add_error("slug", _("The name has no letters or digits to make a slug from; enter a slug."))
                return cleaned
        if not slug:
            return cleaned
        try:
            validate_org_slug(slug)
        except ValidationError as exc:
            self.add_error("slug", exc)
            return cleaned
        if Organization.objects.filter(slug=slug).exists():
            message = (_("The slug “%(slug)s”, made from the name, is taken by another organization; enter another.")
                       if made_from_name else
                       _("An organization with the slug “%(slug)s” already exists; choose another."))
            self.add_error("slug", message % {"slug": slug})
            return cleaned
        cleaned["slug"] = slug
        return cleaned


class PlatformUserSearchForm(forms.Form):
    q = forms.CharField(
        label=_("Email or name starts with"), required=False, max_length=254,
        widget=forms.TextInput(attrs={"type": "search", "autocomplete": "off"}),
    )
    after = forms.CharField(required=False, max_length=2000, widget=forms.HiddenInput)

    def clean_q(self) -> str:
        return self.cleaned_data["q"].strip()

    def clean(self):
        cleaned = super().clean()
        cursor = cleaned.get("after")
        cleaned["after"] = None
        if cursor:
            try:
                cleaned["after"] = user_search_cursor_decode(cursor)
            except ValueError:
                # The field is hidden: the error goes above the form, and the first page is shown.
                self.add_error(None, _("This page link is not valid any more; start again from the first page."))
        return cleaned


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
