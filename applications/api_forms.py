"""Console forms for registered APIs (name, identifier, token format, lifetime, scopes as lines) and for
the API scopes an application is granted."""

import re

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from applications.api_services import (
    API_LIFETIME_MAX,
    API_LIFETIME_MIN,
    API_NAME_MAX,
    api_identifier_problem,
)
from applications.models import Api

# "orders:read — Read your orders": the name (no spaces), a dash (em, en or hyphen), then the description.
_SCOPE_LINE = re.compile(r"^(?P<name>\S+)\s+[—–-]\s+(?P<description>\S.*)$")


def scope_lines_parse(text: str) -> list[tuple[str, str]]:
    """[(name, description)] from one scope per line; blank lines are skipped. A bare name is passed on
    with no description (the service then asks for one); the service checks names and descriptions."""
    scopes = []
    for number, line in enumerate((text or "").splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        if match := _SCOPE_LINE.match(line):
            scopes.append((match.group("name"), match.group("description").strip()))
        elif not any(char.isspace() for char in line):
            scopes.append((line, ""))
        else:
            raise forms.ValidationError(
                _("Line %(number)s (“%(line)s”): write the scope's name (no spaces), a dash, then its description, "
                  "e.g. “orders:read — Read your orders”.") % {"number": number, "line": line[:60]})
    return scopes


def scope_lines_format(scopes) -> str:
    return "\n".join(f"{scope.name} — {scope.description}" for scope in scopes)


class ApiForm(forms.Form):
    """Create (with the identifier) or edit (without: it never changes) an API. Every rule is the
    service's; the form adds the ones it can tell a person about field by field."""

    name = forms.CharField(label=_lazy("Name"), max_length=API_NAME_MAX,
                           help_text=_lazy("Shown in the console, e.g. “Orders API”."))
    # No max_length: a longer identifier gets the service's message, which says what an identifier is.
    identifier = forms.CharField(
        label=_lazy("Identifier (audience)"), strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false", "inputmode": "url",
                                      "placeholder": "https://orders.example.com"}),
        help_text=_lazy("An absolute https URI naming your API, e.g. https://orders.example.com. It becomes "
                        "the tokens' aud and the resource value apps ask for. It is unique across this "
                        "Gatehouse and cannot be changed later."))
    description = forms.CharField(label=_lazy("Description (optional)"), max_length=500, required=False,
                                  widget=forms.Textarea(attrs={"rows": 2}))
    scopes = forms.CharField(
        label=_lazy("Scopes"),
        widget=forms.Textarea(attrs={"rows": 5, "autocomplete": "off", "spellcheck": "false",
                                     "placeholder": "orders:read — Read your orders\n"
                                                    "orders:write — Place and cancel orders"}),
        help_text=_lazy("One scope per line: its name, a dash, then what it allows, e.g. "
                        "“orders:read — Read your orders”. People read the description on the consent page. "
                        "Names use letters, digits and : . _ - /, and are unique within the organization."))
    token_format = forms.ChoiceField(label=_lazy("Token format"), choices=Api.TokenFormat.choices,
                                     widget=forms.RadioSelect, initial=Api.TokenFormat.JWT)
    access_token_lifetime = forms.IntegerField(
        label=_lazy("Access-token lifetime, in seconds"), min_value=API_LIFETIME_MIN, max_value=API_LIFETIME_MAX,
        initial=Api.DEFAULT_LIFETIME,
        error_messages={
            "min_value": _lazy("At least %(limit_value)s seconds (a minute)."),
            "max_value": _lazy("At most %(limit_value)s seconds (a day): a JWT cannot be recalled before it "
                               "expires."),
            "invalid": _lazy("Enter a whole number of seconds, e.g. 600 for 10 minutes."),
        },
        help_text=_lazy("From 60 (a minute) to 86400 (a day). 600 is 10 minutes, the default."))

    def __init__(self, *args, with_identifier: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_identifier:
            del self.fields["identifier"]

    @classmethod
    def initial_for(cls, api: Api) -> dict:
        return {"name": api.name, "description": api.description, "token_format": api.token_format,
                "access_token_lifetime": api.access_token_lifetime,
                "scopes": scope_lines_format(api.scopes.order_by("name"))}

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("An API needs a name."))
        return name

    def clean_identifier(self) -> str:
        identifier = self.cleaned_data["identifier"]
        if problem := api_identifier_problem(identifier):
            raise forms.ValidationError(problem)
        return identifier

    def clean_scopes(self) -> list[tuple[str, str]]:
        scopes = scope_lines_parse(self.cleaned_data["scopes"])
        if not scopes:
            raise forms.ValidationError(_("An API needs at least one scope for applications to be granted."))
        return scopes

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        kwargs = {"name": data["name"], "description": data["description"], "scopes": data["scopes"],
                  "token_format": data["token_format"], "access_token_lifetime": data["access_token_lifetime"]}
        if "identifier" in self.fields:
            kwargs["identifier"] = data["identifier"]
        return kwargs


class _ScopeChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        # A number too large for the database would crash the lookup (OverflowError): refuse it first.
        for pk in value:
            if not str(pk).isdigit() or int(str(pk)) >= 2**63:
                raise forms.ValidationError(self.error_messages["invalid_choice"], code="invalid_choice",
                                            params={"value": pk})
        return super()._check_values(value)


class ApiScopesGrantForm(forms.Form):
    """The API scopes one application is granted: checkboxes of its own org's scopes only, so another org's
    scope id is refused as an invalid choice."""

    api_scopes = _ScopeChoiceField(
        label=_lazy("API scopes"), queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _lazy("Choose scopes of this organization's APIs only."),
                        "invalid_pk_value": _lazy("Choose scopes of this organization's APIs only.")})

    def __init__(self, *args, scopes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["api_scopes"].queryset = scopes

    def grouped(self) -> list[tuple[Api, list]]:
        """The checkboxes grouped by API, in the queryset's order (by API, then scope name)."""
        field = self.fields["api_scopes"]
        scopes = {str(scope.pk): scope for scope in field.queryset}
        groups: dict[int, tuple[Api, list]] = {}
        for checkbox in self["api_scopes"]:
            scope = scopes[str(checkbox.data["value"])]
            groups.setdefault(scope.api_id, (scope.api, []))[1].append((checkbox, scope))
        return list(groups.values())
