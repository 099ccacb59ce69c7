"""URL map: hosted pages at the root, the console under /console/, health probes under /health/."""

from django.urls import include, path

from config import health

urlpatterns = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("console/", include("orgs.urls")),
    path("", include("identity.urls")),
]
