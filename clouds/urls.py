from django.urls import path

from . import views

app_name = "clouds"

urlpatterns = [
    path("aws-accounts/", views.account_list, name="account_list"),
    path("aws-accounts/<str:account_id>/", views.account_detail, name="account_detail"),
]
