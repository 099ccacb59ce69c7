"""The console's CSV pages (/console/<org>/imports/): upload, preview and confirm, progress, per-row results,
recent imports, the template file, and the users export.

Imports are read through the org (import_selectors), so another org's import is a 404. The services
check the rules and write the audit rows; a refusal becomes a message.
"""

from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView, View

from audit.services import audit_record
from config.exceptions import DomainError
from directory.csv_export import (
    EXPORT_COLUMNS,
    RESULT_COLUMNS,
    csv_lines,
    import_result_rows,
    user_export_rows,
)
from directory.csv_import import GROUP_SEPARATOR, IGNORED_COLUMNS, KNOWN_COLUMNS, MAX_ROWS
from directory.import_forms import UserImportUploadForm
from directory.import_selectors import user_import_get, user_import_list
from directory.import_services import user_import_cancel, user_import_confirm, user_import_create
from directory.models import UserImport
from directory.selectors import user_list
from directory.user_forms import UserFilterForm
from orgs.mixins import OrgPermissionMixin

# Rows of the preview listed on the page; every error is listed (up to this many), the counts are exact.
PREVIEW_ROWS = 200
TEMPLATE_CSV = (
    "email,name,role,groups,employee_id\n"
    "ada@example.com,Ada Lovelace,member,engineering;research,E-1001\n"
    "grace@example.com,Grace Hopper,admin,,E-1002\n"
)


def _csv_response(lines, filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


class ImportNewView(OrgPermissionMixin, FormView):
    permission = "members.manage"
    template_name = "directory/imports/new.html"
    form_class = UserImportUploadForm

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(known_columns=KNOWN_COLUMNS, ignored_columns=IGNORED_COLUMNS,
                       group_separator=GROUP_SEPARATOR, max_rows=f"{MAX_ROWS:,}",
                       may_grant_owner="owners.manage" in self.org_permissions)
        return context

    def form_valid(self, form):
        upload = form.cleaned_data["file"]
        try:
            user_import = user_import_create(org=self.org, actor=self.request.user, filename=upload.name,
                                             data=form.file_bytes(),
                                             send_invitations=form.cleaned_data["send_invitations"],
                                             request=self.request)
        except DomainError as exc:
            form.add_error("file", exc.message)
            return self.form_invalid(form)
        return redirect("console:import-detail", org_slug=self.org.slug, public_id=user_import.public_id)


class ImportTemplateView(OrgPermissionMixin, View):
    permission = "members.manage"

    def get(self, request, *args, **kwargs):
        response = HttpResponse("\ufeff" + TEMPLATE_CSV, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="users-template.csv"'
        return response


class ImportListView(OrgPermissionMixin, TemplateView):
    permission = "members.manage"
    template_name = "directory/imports/list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["imports"] = list(user_import_list(org=self.org))
        return context


class _ImportMixin:
    def get_import(self, *, light: bool = False) -> UserImport:
        return user_import_get(org=self.org, public_id=self.kwargs["public_id"], light=light)


def _progress_context(user_import: UserImport) -> dict:
    running = user_import.status in (UserImport.Status.QUEUED, UserImport.Status.RUNNING)
    percent = int(100 * user_import.processed_rows / user_import.total_rows) if user_import.total_rows else 100
    return {"user_import": user_import, "running": running, "percent": percent}


class ImportDetailView(OrgPermissionMixin, _ImportMixin, TemplateView):
    permission = "members.manage"
    template_name = "directory/imports/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user_import = self.get_import()
        counts = dict.fromkeys(("create", "update", "unchanged", "error"), 0)
        for row in user_import.rows:
            counts[row["action"]] += 1
        is_preview = user_import.status == UserImport.Status.PREVIEW
        context.update(
            _progress_context(user_import),
            counts=counts,
            is_preview=is_preview,
            error_rows=[row for row in user_import.rows if row["errors"]][:PREVIEW_ROWS],
            preview_rows=user_import.rows[:PREVIEW_ROWS] if is_preview else [],
            preview_limit=PREVIEW_ROWS,
            may_confirm=is_preview and not user_import.row_errors and user_import.created_by_id == self.request.user.pk,
        )
        return context


class ImportProgressView(OrgPermissionMixin, _ImportMixin, TemplateView):
    """The progress fragment, polled every second (static/console/poll.js) while the import runs."""

    permission = "members.manage"
    template_name = "directory/imports/partials/_progress.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(_progress_context(self.get_import(light=True)))
        return context


class _ImportActionView(OrgPermissionMixin, _ImportMixin, View):
    http_method_names = ["post"]
    permission = "members.manage"

    def perform(self, user_import: UserImport) -> str:
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        user_import = self.get_import()
        try:
            messages.success(request, self.perform(user_import))
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect("console:import-detail", org_slug=self.org.slug, public_id=user_import.public_id)


class ImportConfirmView(_ImportActionView):
    def perform(self, user_import):
        user_import_confirm(user_import=user_import, actor=self.request.user, request=self.request)
        return _("Import confirmed: %(count)d rows are being applied.") % {"count": user_import.total_rows}


class ImportCancelView(_ImportActionView):
    def perform(self, user_import):
        user_import_cancel(user_import=user_import, actor=self.request.user, request=self.request)
        return _("Import cancelled; nothing was applied.")


class ImportResultsView(OrgPermissionMixin, _ImportMixin, View):
    """The per-row outcome as CSV, once the import has run (before that: back to its page, with a message)."""

    permission = "members.manage"

    def get(self, request, *args, **kwargs):
        user_import = self.get_import()
        if user_import.status not in (UserImport.Status.DONE, UserImport.Status.FAILED):
            messages.error(request, _("The results are ready when the import has finished."))
            return redirect("console:import-detail", org_slug=self.org.slug, public_id=user_import.public_id)
        return _csv_response(csv_lines(RESULT_COLUMNS, import_result_rows(user_import.results)),
                             f"import-{user_import.public_id}-results.csv")


class UserExportView(OrgPermissionMixin, View):
    """Every member matching the users list's filters, streamed as CSV; the export is audited."""

    permission = "members.view"

    def get(self, request, *args, **kwargs):
        form = UserFilterForm(request.GET or None, org=self.org)
        if form.is_bound and not form.is_valid():
            # Never widen an export silently: the list page shows what is wrong with the filters.
            messages.error(request, _("These filters are not valid, so nothing was exported."))
            return redirect(reverse("console:user-list", kwargs={"org_slug": self.org.slug})
                            + "?" + request.GET.urlencode())
        filters = form.cleaned_data if form.is_bound else {}
        memberships = user_list(org=self.org, query=filters.get("q") or None, status=filters.get("status") or None,
                                role=filters.get("role") or None, group=filters.get("group"),
                                sort=filters.get("sort") or "email")
        applied = {name: (value.slug if name == "group" else value)
                   for name, value in filters.items() if value and name not in ("after", "sort")}
        # Personal data leaving the system: who took it, and which filter, is worth a row.
        audit_record(action="user.exported", actor=request.user, org=self.org, request=request,
                     metadata={"filters": applied, "format": "csv"})
        return _csv_response(csv_lines(EXPORT_COLUMNS, user_export_rows(org=self.org, memberships=memberships)),
                             f"{self.org.slug}-users.csv")
