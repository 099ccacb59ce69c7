"""Console routes, included under /console/<org_slug>/ by orgs/urls.py (names live in the console namespace)."""

urlpatterns: list = []
