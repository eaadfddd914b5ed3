from django.urls import path

from . import views

app_name = "checks"

urlpatterns = [
    path("environments/<int:environment_id>/checks/", views.check_panel, name="check_panel"),
]
