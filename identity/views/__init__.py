"""Hosted pages, one module per flow."""

from identity.views.account import (
    account_view,
    consent_withdraw_view,
    email_change_confirm_view,
    email_change_view,
    password_change_view,
    session_end_view,
    sessions_end_others_view,
    time_zone_view,
)
from identity.views.email_verification import email_verification_confirm_view, email_verification_send_view
from identity.views.invitation import invitation_view
from identity.views.login import csrf_failure, login_view, logout_view, start
from identity.views.password_reset import password_reset_confirm_view, password_reset_request_view
from identity.views.password_step import login_password_change_view

__all__ = [
    "account_view", "consent_withdraw_view", "csrf_failure", "email_change_confirm_view", "email_change_view",
    "invitation_view", "login_password_change_view", "login_view", "logout_view", "password_change_view",
    "password_reset_confirm_view", "password_reset_request_view", "start",
    "session_end_view", "sessions_end_others_view", "email_verification_confirm_view", "email_verification_send_view",
    "time_zone_view",
]
