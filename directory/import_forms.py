"""Console form for uploading a CSV of users."""

from django import forms
from django.utils.translation import gettext_lazy as _

from directory.csv_import import MAX_FILE_BYTES, MAX_ROWS


class UserImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8, comma-separated, with a header row. At most %(mb)d MB and %(rows)s users.")
        % {"mb": MAX_FILE_BYTES // (1024 * 1024), "rows": f"{MAX_ROWS:,}"},
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
    )
    send_invitations = forms.BooleanField(
        label=_("Email an invitation to each new member"), required=False,
        help_text=_("Without it, new members are created as invited and you can send their invitation later "
                    "from their page."),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        # Checked on the size the upload reports, before anything is read into memory.
        if upload.size > MAX_FILE_BYTES:
            raise forms.ValidationError(
                _("The file is larger than %(mb)d MB. Split it into smaller files."),
                params={"mb": MAX_FILE_BYTES // (1024 * 1024)}, code="too_large")
        return upload

    def file_bytes(self) -> bytes:
        upload = self.cleaned_data["file"]
        upload.seek(0)
        return upload.read(MAX_FILE_BYTES + 1)
