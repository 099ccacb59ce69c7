"""The OpenID Connect provider: django-oauth-toolkit, with what a multi-tenant IdP needs around it."""
