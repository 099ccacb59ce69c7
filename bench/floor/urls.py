from django.contrib.auth import authenticate, login
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import include, path
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from oauth2_provider.views import AuthorizationView, TokenView


@never_cache
def sign_in(request):
    """GET: the form. POST: the credentials (bench/login.py posts `email`, `password` and `next`); signed in, a
    redirect to `next` when it is on this host (as Django's LoginView checks it), else to /done; refused, the
    form again."""
    if request.method == "POST":
        user = authenticate(request, username=request.POST.get("email", ""),
                            password=request.POST.get("password", ""))
        if user is not None:
            login(request, user)
            next_url = request.POST.get("next", "")
            safe = url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()})
            return HttpResponseRedirect(next_url if next_url and safe else "/done")
    return render(request, "login.html", status=200 if request.method == "GET" else 400)


def live(request):
    return HttpResponse("ok")


urlpatterns = [
    path("login", sign_in),
    path("health/live", live),
    # bench/login.py's flow asks Gatehouse's paths; DOT's own views, under DOT's namespace for its reverse().
    path("oauth/authorize", AuthorizationView.as_view()),
    path("oauth/token", TokenView.as_view()),
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
]
