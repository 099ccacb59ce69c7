"""Console pages for an org's webhooks (/console/<org>/webhooks/): endpoints, their deliveries and attempts.

Owners, admins and auditors read them (webhooks.view); changing anything is webhooks.manage. Every
object is read through a selector taking the org, so another org's endpoint or delivery is a 404. A
signing secret appears only in the response to the POST that made it, sent with Cache-Control: no-store.
"""

import json
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.cache import add_never_cache_headers
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import FormView, TemplateView, View

from config.exceptions import DomainError
from identity.step_up import step_up_required
from orgs.confirmation import Confirmation, confirm_first
from orgs.mixins import OrgPermissionMixin
from orgs.models import Organization
from webhooks.forms import DeliveryFilterForm, WebhookEndpointForm
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.selectors import (
    webhook_attempt_list,
    webhook_delivery_counts,
    webhook_delivery_get,
    webhook_delivery_list,
    webhook_delivery_page,
    webhook_endpoint_get,
    webhook_endpoint_list,
)
from webhooks.services import (
    REQUEUEABLE,
    webhook_delivery_requeue,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_secret_rotate,
    webhook_endpoint_set_active,
    webhook_endpoint_update,
    webhook_test_send,
)


def _secret_page(view, *, endpoint: WebhookEndpoint, secret: str, created: bool):
    response = view.response_class(request=view.request, template="webhooks/secret.html",
                                   context={**view.get_context_data(), "endpoint": endpoint, "secret": secret,
                                            "created": created})
    add_never_cache_headers(response)
    return response


class _EndpointScope:
    org: Organization  # set by OrgPermissionMixin
    kwargs: dict[str, Any]

    @cached_property
    def endpoint(self) -> WebhookEndpoint:
        return webhook_endpoint_get(org=self.org, pk=self.kwargs["pk"])

    def detail_url(self) -> str:
        return reverse("console:webhook-detail", kwargs={"org_slug": self.org.slug, "pk": self.endpoint.pk})


class WebhookListView(OrgPermissionMixin, TemplateView):
    permission = "webhooks.view"
    template_name = "webhooks/list.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(endpoints=webhook_endpoint_list(org=self.org),
                       can_manage="webhooks.manage" in self.org_permissions)
        return context


class WebhookCreateView(OrgPermissionMixin, FormView):
    """GET: the form. POST: create, and answer with the one page that shows the signing secret."""

    permission = "webhooks.manage"
    template_name = "webhooks/form.html"
    form_class = WebhookEndpointForm

    def form_valid(self, form):
        try:
            endpoint, secret = webhook_endpoint_create(org=self.org, actor=self.request.user, request=self.request,
                                                       **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        return _secret_page(self, endpoint=endpoint, secret=secret, created=True)


class WebhookEditView(OrgPermissionMixin, _EndpointScope, FormView):
    permission = "webhooks.manage"
    template_name = "webhooks/form.html"
    form_class = WebhookEndpointForm

    def get_initial(self):
        return {"url": self.endpoint.url, "description": self.endpoint.description, "events": self.endpoint.events}

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "endpoint": self.endpoint}

    def form_valid(self, form):
        try:
            webhook_endpoint_update(endpoint=self.endpoint, actor=self.request.user, request=self.request,
                                    **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            return self.form_invalid(form)
        messages.success(self.request, _("Saved the endpoint."))
        return redirect(self.detail_url())


class WebhookDetailView(OrgPermissionMixin, _EndpointScope, TemplateView):
    """The endpoint, its deliveries by state, and the newest deliveries with their attempts and codes."""

    permission = "webhooks.view"
    template_name = "webhooks/detail.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = DeliveryFilterForm(self.request.GET or None)
        # Invalid filters are shown with their errors and not applied.
        filters = {k: v for k, v in form.cleaned_data.items() if v} if form.is_valid() else {}
        deliveries = webhook_delivery_list(org=self.org, endpoint=self.endpoint, status=filters.get("status"))
        page = webhook_delivery_page(deliveries, before=filters.get("before"))
        kept = {k: v for k, v in filters.items() if k != "before"}
        counts = webhook_delivery_counts(org=self.org, endpoint=self.endpoint)
        can_manage = "webhooks.manage" in self.org_permissions
        context.update(
            endpoint=self.endpoint,
            form=form,
            filtered=bool(kept),
            counts=[(value, label, counts[value]) for value, label in WebhookDelivery.Status.choices],
            rows=[(delivery, can_manage and delivery.status in REQUEUEABLE) for delivery in page.deliveries],
            can_manage=can_manage,
            list_url=self.detail_url(),
            first_page_query=urlencode(kept),
            next_page_query=urlencode({**kept, "before": page.next_before}) if page.next_before else "",
            is_first_page=not filters.get("before"),
        )
        return context


@confirm_first
class WebhookStatusView(OrgPermissionMixin, _EndpointScope, View):
    """Disable the endpoint, after a page naming the deliveries dropped; or enable it, at once."""

    permission = "webhooks.manage"
    http_method_names = ["post"]
    active = True

    def confirm_needed(self) -> bool:
        return not self.active

    def confirmation(self) -> Confirmation:
        endpoint = self.endpoint
        counts = webhook_delivery_counts(org=self.org, endpoint=endpoint)
        waiting = counts["pending"] + counts["failed"]
        return Confirmation(
            title=_("Disable the endpoint %(url)s?") % {"url": endpoint.url},
            consequences=[
                _("No new event is sent to this URL: the events it subscribes to are not kept for it while it is "
                  "disabled."),
                ngettext("%(n)d delivery still waiting is dropped and never sent.",
                         "%(n)d deliveries still waiting are dropped and never sent.", waiting) % {"n": waiting},
                _("Its settings, signing secret and delivery history are kept."),
            ],
            note=_("You can enable it again later; events from the meantime are not sent."),
            button=_("Disable the endpoint"),
            cancel_url=self.detail_url(),
        )

    def post(self, request, *args, **kwargs):
        webhook_endpoint_set_active(endpoint=self.endpoint, active=self.active, actor=request.user, request=request)
        messages.success(request, _("Enabled: new events are sent to this endpoint again.") if self.active else
                         _("Disabled: nothing more is sent to this endpoint; deliveries still waiting are dropped."))
        return redirect(self.detail_url())


class WebhookTestView(OrgPermissionMixin, _EndpointScope, View):
    """POST only: send a `webhook.test` event to this endpoint."""

    permission = "webhooks.manage"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        try:
            webhook_test_send(endpoint=self.endpoint, actor=request.user, request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("A test event is on its way; its delivery is at the top of the list."))
        return redirect(self.detail_url())


@step_up_required("webhook.secret_rotate", ask_on_get=True)
class WebhookSecretView(OrgPermissionMixin, _EndpointScope, TemplateView):
    """GET: what a new secret means. POST: make one and show it once."""

    permission = "webhooks.manage"
    template_name = "webhooks/secret_confirm.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "endpoint": self.endpoint}

    def post(self, request, *args, **kwargs):
        endpoint, secret = webhook_endpoint_secret_rotate(endpoint=self.endpoint, actor=request.user, request=request)
        return _secret_page(self, endpoint=endpoint, secret=secret, created=False)


@step_up_required("webhook.delete", ask_on_get=True)
class WebhookDeleteView(OrgPermissionMixin, _EndpointScope, TemplateView):
    """GET: a confirmation naming what goes. POST: delete."""

    permission = "webhooks.manage"
    template_name = "webhooks/delete.html"

    def get_context_data(self, **kwargs):
        counts = webhook_delivery_counts(org=self.org, endpoint=self.endpoint)
        return {**super().get_context_data(**kwargs), "endpoint": self.endpoint,
                "deliveries": sum(counts.values()), "waiting": counts["pending"] + counts["failed"]}

    def post(self, request, *args, **kwargs):
        label = str(self.endpoint)
        webhook_endpoint_delete(endpoint=self.endpoint, actor=request.user, request=request)
        messages.success(request, _("Deleted the endpoint %(name)s.") % {"name": label})
        return redirect("console:webhook-list", org_slug=self.org.slug)


class WebhookDeliveryView(OrgPermissionMixin, _EndpointScope, TemplateView):
    """One delivery: its body as sent, its state and every attempt with the response code."""

    permission = "webhooks.view"
    template_name = "webhooks/delivery.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        delivery = webhook_delivery_get(org=self.org, endpoint=self.endpoint, pk=self.kwargs["delivery_pk"])
        context.update(endpoint=self.endpoint, delivery=delivery, attempts=webhook_attempt_list(delivery=delivery),
                       payload_json=json.dumps(delivery.payload, indent=2, sort_keys=True, ensure_ascii=False),
                       can_requeue="webhooks.manage" in self.org_permissions and delivery.status in REQUEUEABLE)
        return context


class WebhookDeliveryRequeueView(OrgPermissionMixin, _EndpointScope, View):
    """POST only: a dead or failed delivery is sent again now, with a fresh set of attempts."""

    permission = "webhooks.manage"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        delivery = webhook_delivery_get(org=self.org, endpoint=self.endpoint, pk=kwargs["delivery_pk"])
        try:
            webhook_delivery_requeue(delivery=delivery, actor=request.user, request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Requeued: the event will be sent again shortly."))
        return redirect(self.detail_url())
