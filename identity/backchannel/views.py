"""Console pages for one application's back-channel logout deliveries: states, errors, requeue.

Owners, admins and auditors read them (applications.view); requeueing is applications.manage. The
application is read through application_get(org=…), so another org's is a 404.
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.generic import TemplateView, View

from applications.models import Application
from applications.selectors import application_get
from config.exceptions import DomainError
from identity.backchannel.models import BackchannelLogout
from identity.backchannel.selectors import (
    backchannel_logout_counts,
    backchannel_logout_get,
    backchannel_logout_list,
    backchannel_logout_page,
)
from identity.backchannel.services import REQUEUEABLE, backchannel_logout_requeue
from orgs.mixins import OrgPermissionMixin


class DeliveryFilterForm(forms.Form):
    status = forms.ChoiceField(label=_lazy("State"), required=False,
                               choices=[("", _lazy("Any state")), *BackchannelLogout.Status.choices])
    before = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)


class _AppScope:
    @cached_property
    def application(self) -> Application:
        application = application_get(org=self.org, pk=self.kwargs["pk"])
        application.org = self.org
        return application

    def list_url(self) -> str:
        return reverse("console:app-backchannel-logouts", kwargs={"org_slug": self.org.slug,
                                                                  "pk": self.application.pk})


class BackchannelLogoutListView(OrgPermissionMixin, _AppScope, TemplateView):
    permission = "applications.view"
    template_name = "applications/backchannel_logouts.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = DeliveryFilterForm(self.request.GET or None)
        # Invalid filters are shown with their errors and not applied.
        filters = {k: v for k, v in form.cleaned_data.items() if v} if form.is_valid() else {}
        deliveries = backchannel_logout_list(org=self.org, application=self.application,
                                             status=filters.get("status"))
        page = backchannel_logout_page(deliveries, before=filters.get("before"))
        kept = {k: v for k, v in filters.items() if k != "before"}
        counts = backchannel_logout_counts(org=self.org, application=self.application)
        can_manage = "applications.manage" in self.org_permissions
        context.update(
            application=self.application,
            form=form,
            filtered=bool(kept),
            counts=[(value, label, counts[value]) for value, label in BackchannelLogout.Status.choices],
            rows=[(delivery, can_manage and delivery.status in REQUEUEABLE) for delivery in page.deliveries],
            can_manage=can_manage,
            list_url=self.list_url(),
            first_page_query=urlencode(kept),
            next_page_query=urlencode({**kept, "before": page.next_before}) if page.next_before else "",
            is_first_page=not filters.get("before"),
        )
        return context


class BackchannelLogoutRequeueView(OrgPermissionMixin, _AppScope, View):
    """POST only: a dead or failed delivery is sent again now, with a fresh set of attempts."""

    permission = "applications.manage"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        delivery = backchannel_logout_get(org=self.org, application=self.application, pk=kwargs["delivery_pk"])
        try:
            backchannel_logout_requeue(delivery=delivery, actor=request.user, request=request)
        except DomainError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Requeued: %(app)s will be sent the logout token shortly.")
                             % {"app": self.application.name})
        return redirect(self.list_url())
