"""Console form for a member's org-specific data: the employee id."""

from django import forms
from django.utils.translation import gettext_lazy as _lazy

from config.exceptions import DomainError
from directory.member_services import EMPLOYEE_ID_MAX, employee_id_clean


class EmployeeIdForm(forms.Form):
    employee_id = forms.CharField(
        label=_lazy("Employee id"), required=False, max_length=EMPLOYEE_ID_MAX,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
        help_text=_lazy("Your organization's identifier for this person, e.g. an HR number. Empty: none."))

    def clean_employee_id(self) -> str:
        try:
            return employee_id_clean(self.cleaned_data.get("employee_id", ""))
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None
