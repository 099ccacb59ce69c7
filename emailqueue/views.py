"""The email queue pages: an org's outbox (/console/<org>/emails/) and the operator's (/console/platform/emails/).

One-time links never reach these pages: every body, subject and error goes through
redact_one_time_links before it is rendered.
"""

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import TemplateView, View

from config.exceptions import DomainError
from emailqueue.forms import EmailCancelForm, EmailFilterForm, PlatformEmailFilterForm
from emailqueue.models import OutboundEmail
from emailqueue.redaction import redact_one_time_links
from emailqueue.selectors import (
    email_get,
    email_get_platform,
    email_list,
    email_list_platform,
    email_page,
    email_status_counts,
)
from emailqueue.services import REQUEUEABLE, WAITING, email_cancel, email_requeue
from orgs.mixins import OrgPermissionMixin, PlatformOperatorMixin


class _OrgScope:
    """Where the org pages read from and link to."""

    is_platform = False
    filter_form_class = EmailFilterForm

    def emails(self, filters: dict):
        return email_list(org=self.org, status=filters.get("status"), recipient=filters.get("recipient"))

    def all_emails(self):
        return OutboundEmail.objects.for_org(self.org)

    def get_email(self, pk) -> OutboundEmail:
        return email_get(org=self.org, pk=pk)

    def list_url(self) -> str:
        return reverse("console:email-list", kwargs={"org_slug": self.org.slug})

    def detail_url(self, email: OutboundEmail, page: str = "detail") -> str:
        return reverse(f"console:email-{page}", kwargs={"org_slug": self.org.slug, "pk": email.pk})

    def can_manage(self) -> bool:
        return "email.manage" in self.org_permissions


class _PlatformScope:
    """Every org's mail and the platform's own, for operators."""

    is_platform = True
    filter_form_class = PlatformEmailFilterForm

    def emails(self, filters: dict):
        return email_list_platform(org_slug=filters.get("org"), status=filters.get("status"),
                                   recipient=filters.get("recipient"))

    def all_emails(self):
        return OutboundEmail.objects.all()

    def get_email(self, pk) -> OutboundEmail:
        return email_get_platform(pk=pk)

    def list_url(self) -> str:
        return reverse("console:platform-email-list")

    def detail_url(self, email: OutboundEmail, page: str = "detail") -> str:
        return reverse(f"console:platform-email-{page}", kwargs={"pk": email.pk})

    def can_manage(self) -> bool:
        return True


class _EmailListBase(TemplateView):
    template_name = "emailqueue/email_list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = self.filter_form_class(self.request.GET or None)
        # Invalid filters are shown with their errors and not applied.
        filters = {k: v for k, v in form.cleaned_data.items() if v} if form.is_valid() else {}
        page = email_page(self.emails(filters), before=filters.get("before"))
        kept = {k: v for k, v in filters.items() if k != "before"}
        counts = email_status_counts(self.all_emails())
        context.update(
            is_platform=self.is_platform,
            form=form,
            filtered=bool(kept),
            counts=[(value, label, counts[value]) for value, label in OutboundEmail.Status.choices],
            rows=[(email, self.detail_url(email)) for email in page.emails],
            list_url=self.list_url(),
            first_page_query=urlencode(kept),
            next_page_query=urlencode({**kept, "before": page.next_before}) if page.next_before else "",
            is_first_page=not filters.get("before"),
        )
        return context


class _EmailDetailBase(TemplateView):
    template_name = "emailqueue/email_detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        email = self.get_email(self.kwargs["pk"])
        can_manage = self.can_manage()
        context.update(
            is_platform=self.is_platform,
            email=email,
            subject=redact_one_time_links(email.subject),
            body_text=redact_one_time_links(email.body_text),
            body_html=redact_one_time_links(email.body_html),
            last_error=redact_one_time_links(email.last_error),
            can_requeue=can_manage and email.status in REQUEUEABLE,
            can_cancel=can_manage and email.status in WAITING,
            cancel_form=EmailCancelForm(),
            list_url=self.list_url(),
            requeue_url=self.detail_url(email, "requeue"),
            cancel_url=self.detail_url(email, "cancel"),
        )
        return context


class _EmailActionBase(View):
    """POST only: requeue or cancel one message, then back to its page."""

    http_method_names = ["post"]
    action = ""  # "requeue" or "cancel"

    def post(self, request, pk, **kwargs):
        email = self.get_email(pk)
        try:
            if self.action == "requeue":
                email_requeue(email=email, actor=request.user, request=request)
                messages.success(request, _("Requeued: the message to %(to)s will be sent shortly.")
                                 % {"to": email.recipient})
            else:
                form = EmailCancelForm(request.POST)
                if not form.is_valid():
                    messages.error(request, " ".join(form.errors.get("reason", [])))
                    return redirect(self.detail_url(email))
                email_cancel(email=email, actor=request.user, request=request, reason=form.cleaned_data["reason"])
                messages.success(request, _("Cancelled: the message to %(to)s will not be sent.")
                                 % {"to": email.recipient})
        except DomainError as exc:
            messages.error(request, exc.message)
        return redirect(self.detail_url(email))


class EmailListView(OrgPermissionMixin, _OrgScope, _EmailListBase):
    permission = "email.view"


class EmailDetailView(OrgPermissionMixin, _OrgScope, _EmailDetailBase):
    permission = "email.view"


class EmailRequeueView(OrgPermissionMixin, _OrgScope, _EmailActionBase):
    permission = "email.manage"
    action = "requeue"


class EmailCancelView(OrgPermissionMixin, _OrgScope, _EmailActionBase):
    permission = "email.manage"
    action = "cancel"


class PlatformEmailListView(PlatformOperatorMixin, _PlatformScope, _EmailListBase):
    pass


class PlatformEmailDetailView(PlatformOperatorMixin, _PlatformScope, _EmailDetailBase):
    pass


class PlatformEmailRequeueView(PlatformOperatorMixin, _PlatformScope, _EmailActionBase):
    action = "requeue"


class PlatformEmailCancelView(PlatformOperatorMixin, _PlatformScope, _EmailActionBase):
    action = "cancel"
