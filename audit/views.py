"""The audit log pages: an org's (/console/<org>/audit/) and the operator's (/console/platform/audit/),
their streaming exports (CSV, JSON Lines) with the list's filters, and an org's retention."""

import json
from datetime import timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import FormView, TemplateView, View

from audit.display import metadata_tree
from audit.export import FORMATS, audit_export
from audit.forms import AuditFilterForm, AuditRetentionForm, PlatformAuditFilterForm
from audit.models import AuditEvent
from audit.selectors import (
    audit_event_get,
    audit_event_get_platform,
    audit_event_list,
    audit_event_list_platform,
    audit_page,
)
from audit.services import audit_export_record, audit_retention_update
from config.exceptions import DomainError
from directory.time_zones import format_when
from identity.step_up import step_up_required
from orgs.confirmation import Confirmation, confirmation_response, is_confirmed
from orgs.mixins import OrgPermissionMixin, PlatformOperatorMixin
from orgs.models import Organization


class _OrgScope:
    """Where the org pages read from and link to: this org's events only."""

    is_platform = False
    filter_form_class = AuditFilterForm

    def events(self, filters: dict):
        return audit_event_list(org=self.org, **filters)

    def get_event(self, pk) -> AuditEvent:
        return audit_event_get(org=self.org, pk=pk)

    def list_url(self) -> str:
        return reverse("console:audit-list", kwargs={"org_slug": self.org.slug})

    def export_url(self) -> str:
        return reverse("console:audit-export", kwargs={"org_slug": self.org.slug})

    def export_name(self) -> str:
        return f"audit-{self.org.slug}"

    def export_org(self) -> Organization | None:
        return self.org

    def detail_url(self, event: AuditEvent) -> str:
        return reverse("console:audit-detail", kwargs={"org_slug": self.org.slug, "pk": event.pk})


class _PlatformScope:
    """Every event, org-less platform events included, for operators."""

    is_platform = True
    filter_form_class = PlatformAuditFilterForm

    def events(self, filters: dict):
        return audit_event_list_platform(**filters)

    def get_event(self, pk) -> AuditEvent:
        return audit_event_get_platform(pk=pk)

    def list_url(self) -> str:
        return reverse("console:platform-audit-list")

    def export_url(self) -> str:
        return reverse("console:platform-audit-export")

    def export_name(self) -> str:
        return "audit-platform"

    def export_org(self) -> Organization | None:
        return None

    def detail_url(self, event: AuditEvent) -> str:
        return reverse("console:platform-audit-detail", kwargs={"pk": event.pk})


def _query_value(value) -> str:
    """A cleaned filter back as it goes in a link: dates as YYYY-MM-DD, an org as its slug."""
    if isinstance(value, Organization):
        return value.slug
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


class _AuditListBase(TemplateView):
    template_name = "audit/event_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = self.filter_form_class(self.request.GET or None)
        filters = form.filters()  # invalid filters are shown with their errors and not applied
        before = filters.pop("before", None)
        page = audit_page(self.events(filters), before=before)
        kept = {name: _query_value(value) for name, value in filters.items()}
        context.update(
            is_platform=self.is_platform,
            form=form,
            filtered=bool(kept),
            rows=[(event, self.detail_url(event)) for event in page.events],
            list_url=self.list_url(),
            first_page_query=urlencode(kept),
            next_page_query=urlencode({**kept, "before": page.next_before}) if page.next_before else "",
            is_first_page=before is None,
            export_url=self.export_url(),
            export_query=urlencode(kept),
        )
        if not self.is_platform:
            context.update(retention_days=self.org.audit_retention_days,
                           can_change_retention="settings.manage" in self.org_permissions)
        return context


class _AuditExportBase(View):
    """GET ?format=csv|jsonl plus the list's filters: the matching events, streamed, newest first.

    Invalid filters send the reader back to the list, which shows what is wrong; the export itself is
    recorded (audit.exported) with its format and filters.
    """

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("format", "csv")
        if fmt not in FORMATS:
            return HttpResponse(_("Export as format=csv or format=jsonl."), status=400,
                                content_type="text/plain; charset=utf-8")
        query = request.GET.copy()
        query.pop("format", None)
        query.pop("before", None)
        form = self.filter_form_class(query or None)
        if query and not form.is_valid():
            return redirect(f"{self.list_url()}?{query.urlencode()}")
        filters = form.filters()
        filters.pop("before", None)
        audit_export_record(org=self.export_org(), actor=request.user, request=request, fmt=fmt,
                            filters={name: _query_value(value) for name, value in filters.items()})
        content_type, extension = FORMATS[fmt]
        response = StreamingHttpResponse(audit_export(events=self.events(filters), fmt=fmt),
                                         content_type=content_type)
        filename = f"{self.export_name()}-{timezone.now():%Y%m%d-%H%M%S}.{extension}"
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response


class _AuditDetailBase(TemplateView):
    template_name = "audit/event_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        event = self.get_event(self.kwargs["pk"])
        context.update(
            is_platform=self.is_platform,
            event=event,
            metadata=metadata_tree(event.metadata),
            metadata_json=json.dumps(event.metadata, indent=2, sort_keys=True, ensure_ascii=False),
            list_url=self.list_url(),
        )
        return context


class AuditListView(OrgPermissionMixin, _OrgScope, _AuditListBase):
    permission = "audit.view"


class AuditDetailView(OrgPermissionMixin, _OrgScope, _AuditDetailBase):
    permission = "audit.view"


class PlatformAuditListView(PlatformOperatorMixin, _PlatformScope, _AuditListBase):
    pass


class PlatformAuditDetailView(PlatformOperatorMixin, _PlatformScope, _AuditDetailBase):
    pass


class AuditExportView(OrgPermissionMixin, _OrgScope, _AuditExportBase):
    permission = "audit.view"


class PlatformAuditExportView(PlatformOperatorMixin, _PlatformScope, _AuditExportBase):
    pass


@step_up_required("audit.retention_change", ask_on_get=True)
class AuditRetentionView(OrgPermissionMixin, FormView):
    """How long this org keeps its audit events; the daily purge removes older ones."""

    permission = "settings.manage"
    template_name = "audit/retention.html"
    form_class = AuditRetentionForm

    def get_initial(self):
        return {"days": self.org.audit_retention_days}

    def _purge_confirmation(self, days: int) -> Confirmation:
        cutoff = timezone.now() - timedelta(days=days)
        doomed = AuditEvent.objects.for_org(self.org).filter(created_at__lt=cutoff).count()
        return Confirmation(
            title=ngettext("Keep audit events for only %(days)d day?", "Keep audit events for only %(days)d days?",
                           days) % {"days": days},
            consequences=[
                ngettext("%(n)d event of %(org)s, older than %(cutoff)s, is deleted for good at tonight's purge.",
                         "%(n)d events of %(org)s, older than %(cutoff)s, are deleted for good at tonight's purge.",
                         doomed) % {"n": doomed, "org": self.org.name,
                                    "cutoff": format_when(cutoff)},
                _("From then on, every night deletes the events that pass that age."),
                _("An audit.purged event records how many went and the last one's hash, so the log can still be "
                  "verified. Export the log first if you need to keep older events elsewhere."),
            ],
            button=ngettext("Keep events for %(days)d day", "Keep events for %(days)d days", days) % {"days": days},
            cancel_url=reverse("console:audit-retention", kwargs={"org_slug": self.org.slug}),
            keep={"days": str(days)},
        )

    def form_valid(self, form):
        days = form.cleaned_data["days"]
        current = self.org.audit_retention_days
        if days is not None and (current is None or days < current) and not is_confirmed(self.request):
            # A shorter retention deletes events at the next purge: say how many, and ask.
            return confirmation_response(self, self._purge_confirmation(days))
        try:
            audit_retention_update(org=self.org, days=days, actor=self.request.user,
                                   request=self.request)
        except DomainError as exc:
            form.add_error("days" if exc.field == "days" else None, exc.message)
            return self.form_invalid(form)
        days = form.cleaned_data["days"]
        if days is None:
            messages.success(self.request, _("Audit events are now kept for ever."))
        else:
            messages.success(self.request, _("Audit events older than %(days)s days will be purged tonight, "
                                             "leaving a purge event that anchors the chain.") % {"days": days})
        return redirect("console:audit-list", org_slug=self.org.slug)
