"""The platform operator's pages for accounts and new organizations: the user search across every org,
and creating an org (its slug made from its name, its first owner invited in the same step)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.generic import FormView, TemplateView

from config.exceptions import DomainError
from orgs.forms import OrganizationCreateForm, PlatformUserSearchForm
from orgs.mixins import PlatformOperatorMixin
from orgs.platform_selectors import platform_user_search, user_search_page
from orgs.platform_services import organization_create_with_owner


class PlatformUserSearchView(PlatformOperatorMixin, TemplateView):
    """Every account by email or name, each with its orgs, role and status; operators only (others: 404)."""

    template_name = "console/platform/user_search.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = PlatformUserSearchForm(self.request.GET or None)
        form.is_valid()
        # Only the fields that validated apply; the others show their errors (a stale page link: page one).
        filters = getattr(form, "cleaned_data", {})
        query = filters.get("q") or ""
        after = filters.get("after")
        page = user_search_page(platform_user_search(query=query), after=after)
        kept = {"q": query} if query else {}
        context.update(
            form=form, query=query, users=page.users,
            list_url=reverse("console:platform-users"),
            first_page_query=urlencode(kept),
            next_page_query=urlencode({**kept, "after": page.next_after}) if page.next_after else "",
            is_first_page=after is None,
        )
        return context


class PlatformOrgCreateView(PlatformOperatorMixin, FormView):
    template_name = "console/platform/org_create.html"
    form_class = OrganizationCreateForm

    def form_valid(self, form):
        data = form.cleaned_data
        try:
            org = organization_create_with_owner(
                slug=data["slug"], name=data["name"], first_owner_email=data["first_owner_email"],
                actor=self.request.user, request=self.request)
        except DomainError as exc:
            field = exc.field if exc.field in form.fields else None
            if exc.field == "email":
                field = "first_owner_email"
            form.add_error(field, exc.message)
            return self.form_invalid(form)
        if data["first_owner_email"]:
            messages.success(self.request, _("Created %(name)s and invited %(email)s as its owner.") % {
                "name": org.name, "email": data["first_owner_email"]})
        else:
            messages.success(self.request, _("Created %(name)s.") % {"name": org.name})
        return redirect("console:org-overview", org_slug=org.slug)
