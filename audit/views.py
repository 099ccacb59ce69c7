"""The audit log pages: an org's (/console/<org>/audit/) and the operator's (/console/platform/audit/)."""

import json
from urllib.parse import urlencode

from django.urls import reverse
from django.views.generic import TemplateView

from audit.display import metadata_tree
from audit.forms import AuditFilterForm, PlatformAuditFilterForm
from audit.models import AuditEvent
from audit.selectors import (
    audit_event_get,
    audit_event_get_platform,
    audit_event_list,
    audit_event_list_platform,
    audit_page,
)
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
        )
        return context


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
