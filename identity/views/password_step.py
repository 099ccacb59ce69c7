"""The sign-in step that makes a user choose a new password (too old under their org's policy, or
an administrator asked). It comes after the password step; login() runs only once it is done."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from config.exceptions import DomainError
from directory.models import User
from directory.services import password_change_at_sign_in
from identity.flows import flow_clear, flow_load
from identity.forms import SetPasswordForm, form_add_domain_error
from identity.password_policy import password_change_reason
from identity.views.login import login_flow_continue

REASONS = {
    "expired": gettext_lazy("Your password is older than your organization allows. Choose a new one to continue."),
    "required": gettext_lazy("Your administrator asked you to choose a new password before you continue."),
}


@never_cache
@sensitive_post_parameters("new_password1", "new_password2")
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_password_change_view(request):
    flow = flow_load(request.session)
    user = User.objects.filter(pk=flow.user_id).first() if flow is not None and flow.user_id else None
    if flow is None or "pwd" not in flow.methods or user is None or not user.is_active:
        # No sign-in in progress (or it timed out): start again from the password.
        flow_clear(request.session)
        messages.info(request, _("Sign in to continue."))
        return redirect("identity:login")
    reason = password_change_reason(user=user)
    if not reason:
        return login_flow_continue(request, flow, user)
    form = SetPasswordForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            password_change_at_sign_in(user=user, new_password=form.cleaned_data["new_password1"], reason=reason,
                                       request=request)
        except DomainError as exc:
            form_add_domain_error(form, exc)
        else:
            messages.success(request, _("Your password has been changed."))
            return login_flow_continue(request, flow, User.objects.get(pk=user.pk))
    return render(request, "identity/login_password_change.html",
                  {"form": form, "reason": str(REASONS[reason]), "account_email": user.email})
