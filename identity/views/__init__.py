"""Hosted pages, one module per flow."""

from identity.views.account import account_view, consent_withdraw_view
from identity.views.login import csrf_failure, login_view, logout_view, start

__all__ = ["account_view", "consent_withdraw_view", "csrf_failure", "login_view", "logout_view", "start"]
