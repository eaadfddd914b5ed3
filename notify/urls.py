from django.urls import path

from . import views

app_name = "notify"

urlpatterns = [
    path("preferences/", views.preference_list, name="preference_list"),
    path("webhooks/", views.webhook_list, name="webhook_list"),
    path("webhooks/<int:webhook_id>/", views.webhook_detail, name="webhook_detail"),
    path("webhooks/<int:webhook_id>/test/", views.webhook_send_test, name="webhook_send_test"),
    path("webhooks/<int:webhook_id>/disable/", views.webhook_disable, name="webhook_disable"),
]
