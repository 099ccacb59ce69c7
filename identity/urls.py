from django.urls import path

from identity import views
from identity.mfa import login_views as mfa_login_views
from identity.views import step_up as step_up_views

app_name = "identity"
# One-time links live under /invitation/, /password/reset/, /account/email/confirm/ and /account/email/verify/:
# the console's email queue redacts exactly these prefixes (identity.tokens.PATH_PREFIXES).
urlpatterns = [
    path("", views.start, name="start"),
    path("login", views.login_view, name="login"),
    path("login/password-change", views.login_password_change_view, name="login-password-change"),
    path("login/verify", mfa_login_views.login_verify_view, name="login-verify"),
    path("login/enrol", mfa_login_views.login_enrol_view, name="login-enrol"),
    path("logout", views.logout_view, name="logout"),
    path("invitation/<str:token>", views.invitation_view, name="invitation"),
    path("password/reset", views.password_reset_request_view, name="password-reset"),
    path("password/reset/<str:token>", views.password_reset_confirm_view, name="password-reset-confirm"),
    path("account/", views.account_view, name="account"),
    path("account/confirm", step_up_views.step_up_view, name="step-up"),
    path("account/confirm/passkey/options", step_up_views.step_up_passkey_options_view, name="step-up-passkey-options"),
    path("account/confirm/passkey/verify", step_up_views.step_up_passkey_verify_view, name="step-up-passkey-verify"),
    path("account/password", views.password_change_view, name="password-change"),
    path("account/time-zone", views.time_zone_view, name="time-zone"),
    path("account/email", views.email_change_view, name="email-change"),
    path("account/email/confirm/<str:token>", views.email_change_confirm_view, name="email-change-confirm"),
    path("account/consents/<int:pk>/withdraw", views.consent_withdraw_view, name="consent-withdraw"),
    path("account/sessions/<int:pk>/end", views.session_end_view, name="session-end"),
    path("account/sessions/end-others", views.sessions_end_others_view, name="sessions-end-others"),
    path("account/email/verify", views.email_verification_send_view, name="email-verification-send"),
    path("account/email/verify/<str:token>", views.email_verification_confirm_view,
         name="email-verification-confirm"),
]
