from __future__ import annotations

from django.urls import path

from . import views

app_name = "contributions"

urlpatterns = [
    path("", views.home, name="home"),
    path("agreement/", views.agreement, name="agreement"),
    path("profile/", views.profile, name="profile"),
    path("profile/export/", views.profile_export, name="profile_export"),
    path("profile/delete/", views.profile_delete, name="profile_delete"),
    path("people/<str:pseudonym>/", views.person, name="person"),
    path("maintainers/roles/", views.roles, name="roles"),
    path("maintainers/roles/<int:user_id>/", views.role_update, name="role_update"),
]
