from django.urls import path

from identity import views

app_name = "identity"
urlpatterns = [
    path("", views.start, name="start"),
    path("login", views.login_view, name="login"),
    path("logout", views.logout_view, name="logout"),
    path("account/", views.account_view, name="account"),
    path("account/consents/<int:pk>/withdraw", views.consent_withdraw_view, name="consent-withdraw"),
]
