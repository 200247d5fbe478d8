"""
URLs for the tests: the Django admin, where the plugin's models are managed.
"""

from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("admin/", admin.site.urls),
]
