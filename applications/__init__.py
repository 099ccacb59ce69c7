"""Applications: org-owned OIDC clients (django-oauth-toolkit's swapped Application)."""
