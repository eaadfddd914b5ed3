from django.contrib import admin
from django.urls import include, path

from environments import views as environment_views
from sso import views as sso_views

from . import views
from .api import api

# Error pages in the panel's layout, with the reason the server knows (templates/403|404|500.html).
handler403 = "wlpanel.views.permission_denied"

urlpatterns = [
    # The home page shows the person's notifications, approval queue and environments.
    path("", environment_views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("login/", sso_views.Login.as_view(), name="login"),
    path("logout/", sso_views.Logout.as_view(), name="logout"),
    path("sso/", include("sso.urls")),
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("audit/", include("audit.urls")),
    path("notify/", include("notify.urls")),
    path("account/", include("accounts.urls")),
    path("", include("checks.urls")),
    path("", include("clouds.urls")),
    path("", include("environments.urls")),
]
