"""Console forms for organizations."""

from django import forms
from django.utils.translation import gettext_lazy as _

from orgs.validators import validate_org_slug


class OrganizationCreateForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=150)
    slug = forms.CharField(
        label=_("Slug"), max_length=50,
        help_text=_("Used in console addresses, e.g. /console/acme/. Lowercase letters, digits and hyphens."),
    )

    def clean_slug(self):
        slug = self.cleaned_data["slug"].strip().lower()
        validate_org_slug(slug)
        return slug


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=500, required=False)
