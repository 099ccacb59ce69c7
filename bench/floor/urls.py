from django.contrib.auth import authenticate, login
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path
from django.views.decorators.cache import never_cache


@never_cache
def sign_in(request):
    """GET: the form. POST: the credentials (bench/login.py's hosted sign-in posts `email` and `password`);
    signed in, a redirect; refused, the form again."""
    if request.method == "POST":
        user = authenticate(request, username=request.POST.get("email", ""),
                            password=request.POST.get("password", ""))
        if user is not None:
            login(request, user)
            return HttpResponseRedirect("/done")
    return render(request, "login.html", status=200 if request.method == "GET" else 400)


def live(request):
    return HttpResponse("ok")


urlpatterns = [path("login", sign_in), path("health/live", live)]
