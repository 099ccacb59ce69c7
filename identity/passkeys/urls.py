from django.urls import path

from identity.passkeys import views

app_name = "passkeys"
urlpatterns = [
    path("", views.manage_view, name="manage"),
    path("register/options", views.register_options_view, name="register-options"),
    path("register/verify", views.register_verify_view, name="register-verify"),
    path("login/options", views.login_options_view, name="login-options"),
    path("login/verify", views.login_verify_view, name="login-verify"),
    path("second-factor/options", views.second_factor_options_view, name="second-factor-options"),
    path("second-factor/verify", views.second_factor_verify_view, name="second-factor-verify"),
    path("enrol/options", views.enrol_options_view, name="enrol-options"),
    path("enrol/verify", views.enrol_verify_view, name="enrol-verify"),
    path("<int:pk>/rename", views.rename_view, name="rename"),
    path("<int:pk>/remove", views.remove_view, name="remove"),
]
