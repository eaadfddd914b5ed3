from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from environments import views as environment_views

from . import views
from .api import api

urlpatterns = [
    # The home page shows the person's notifications, approval queue and environments.
    path("", environment_views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("audit/", include("audit.urls")),
    path("notify/", include("notify.urls")),
    path("", include("environments.urls")),
]
