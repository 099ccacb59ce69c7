"""/account/security/…: the signed-in user's second factors."""

from django.urls import path

from identity.mfa import views

app_name = "mfa"
urlpatterns = [
    path("", views.security_view, name="security"),
    path("authenticator/add", views.totp_add_view, name="totp-add"),
    path("authenticator/<int:pk>/remove", views.totp_remove_view, name="totp-remove"),
    path("recovery-codes", views.recovery_codes_view, name="recovery-codes"),
]
