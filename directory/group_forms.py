"""Console forms for groups: create, edit, and adding several members at once."""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from directory.group_selectors import org_members_by_email
from directory.models import Group

# One submission adds at most this many people; bigger changes belong to the CSV import.
MAX_EMAILS_PER_ADD = 200


class GroupEditForm(forms.Form):
    name = forms.CharField(label=_lazy("Name"), max_length=150)
    description = forms.CharField(label=_lazy("Description"), max_length=500, required=False,
                                  widget=forms.Textarea(attrs={"rows": 3}))

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise ValidationError(_("A group needs a name."))
        return name


class GroupCreateForm(GroupEditForm):
    slug = forms.CharField(
        label=_lazy("Slug"), max_length=80, required=False,
        help_text=_lazy("Sent to applications in the groups claim and never changes. "
                        "Leave empty to derive it from the name."),
    )
    field_order = ["name", "slug", "description"]

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org

    def clean(self):
        cleaned = super().clean()
        if "name" not in cleaned or "slug" not in cleaned:
            return cleaned
        raw = cleaned["slug"].strip()
        # A long name must not yield a slug longer than the column (Group.slug).
        slug = slugify(raw or cleaned["name"])[:80].strip("-_")
        field = "slug" if raw else "name"
        if not slug:
            self.add_error(field, _("The slug needs at least one letter or digit."))
        elif raw and slug != raw:
            self.add_error("slug", _("Use lowercase letters, digits, hyphens and underscores only, "
                                     "e.g. “%(slug)s”.") % {"slug": slug})
        elif Group.objects.for_org(self.org).filter(slug=slug).exists():
            self.add_error("slug", _("A group with the slug “%(slug)s” already exists in %(org)s. "
                                     "Choose another slug.") % {"slug": slug, "org": self.org.name})
        else:
            cleaned["slug"] = slug
        return cleaned


def split_emails(text: str) -> list[str]:
    """Entries separated by new lines, commas or semicolons; blanks dropped, duplicates (any case) once."""
    seen, entries = set(), []
    for entry in re.split(r"[\n,;]+", text or ""):
        entry = entry.strip()
        if entry and entry.lower() not in seen:
            seen.add(entry.lower())
            entries.append(entry)
    return entries


class GroupMembersAddForm(forms.Form):
    """All or nothing: one address that is not a member of the org refuses the whole list, each
    problem named, so the administrator fixes it and submits again with nothing half-applied."""

    emails = forms.CharField(
        label=_lazy("Email addresses"),
        widget=forms.Textarea(attrs={"rows": 5, "autocomplete": "off"}),
        help_text=_lazy("One per line or separated by commas. Each must be a member of this organization."),
    )

    def __init__(self, *args, org, **kwargs):
        super().__init__(*args, **kwargs)
        self.org = org

    def clean_emails(self):
        entries = split_emails(self.cleaned_data["emails"])
        if not entries:
            raise ValidationError(_("Enter at least one email address."))
        if len(entries) > MAX_EMAILS_PER_ADD:
            raise ValidationError(_("Add at most %(max)d people at once (you entered %(n)d); "
                                    "use the CSV import for more.") % {"max": MAX_EMAILS_PER_ADD, "n": len(entries)})
        valid = []
        for entry in entries:
            try:
                validate_email(entry)
                valid.append(entry)
            except ValidationError:
                pass
        found = org_members_by_email(org=self.org, emails=valid)
        # Problems are listed in the order they were typed.
        problems, users = [], []
        for entry in entries:
            user = found.get(entry.lower())
            if user is not None:
                users.append(user)
            elif entry in valid:
                problems.append(_("“%(email)s” is not a member of %(org)s.") % {"email": entry, "org": self.org.name})
            else:
                problems.append(_("“%(email)s” is not a valid email address.") % {"email": entry})
        if problems:
            raise ValidationError([_("Nothing was added. Correct or remove these addresses and try again:"),
                                   *problems])
        self.users = users
        return entries
