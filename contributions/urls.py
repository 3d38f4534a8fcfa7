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

urlpatterns += [
    path("corpora/", views.corpus_list, name="corpus_list"),
    path("corpora/new/", views.corpus_new, name="corpus_new"),
    path("corpora/<int:pk>/", views.corpus_detail, name="corpus_detail"),
    path("corpora/<int:pk>/edit/", views.corpus_edit, name="corpus_edit"),
    path("corpora/<int:pk>/files/", views.corpus_upload, name="corpus_upload"),
    path("corpora/<int:pk>/files/<int:file_id>/delete/", views.corpus_file_delete, name="corpus_file_delete"),
    path("corpora/<int:pk>/files/<int:file_id>/download/", views.corpus_file_download, name="corpus_file_download"),
    path("corpora/<int:pk>/submit/", views.corpus_submit, name="corpus_submit"),
    path("corpora/<int:pk>/withdraw/", views.corpus_withdraw, name="corpus_withdraw"),
    path("corpora/<int:pk>/progress/", views.corpus_progress, name="corpus_progress"),
]
