"""URLs of the benchmarks: the Django admin, whose list pages the admin benchmark times."""

from django.contrib import admin
from django.urls import path

urlpatterns = [path("admin/", admin.site.urls)]
