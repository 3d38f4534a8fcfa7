from __future__ import annotations

from django.urls import path

from . import views
from .views import dashboard as dashboard_views
from .views import explorer as explorer_views
from .views import public as public_views
from .views import release_pages as releases_views
from .views import resubmission as resubmission_views
from .views import stats as stats_views

app_name = "contributions"

urlpatterns = [
    path("", views.home, name="home"),
    path("agreement/", views.agreement, name="agreement"),
    path("profile/", views.profile, name="profile"),
    path("profile/export/", views.profile_export, name="profile_export"),
    path("profile/delete/", views.profile_delete, name="profile_delete"),
    path("profile/tokens/", views.api_tokens, name="api_tokens"),
    path("profile/tokens/<int:token_id>/revoke/", views.api_token_revoke, name="api_token_revoke"),
    path("people/<str:pseudonym>/", public_views.person, name="person"),
    path("contributors/", public_views.contributors, name="contributors"),
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

urlpatterns += [
    path("corpora/<int:pk>/comments/", views.comment_post, name="comment_post"),
    path("review/", views.review_queue, name="review_queue"),
    path("review/<int:pk>/", views.review_corpus, name="review_corpus"),
    path("review/<int:pk>/documents/<int:doc_index>/", views.review_document, name="review_document"),
    path("review/<int:pk>/changes/", resubmission_views.review_changes, name="review_changes"),
    path("review/<int:pk>/decide/", views.review_decide, name="review_decide"),
    path("review/<int:pk>/exclusions/", views.review_exclude, name="review_exclude"),
    path("review/<int:pk>/exclusions/bulk/", views.review_exclude_bulk, name="review_exclude_bulk"),
    path("review/<int:pk>/claim/", views.review_claim, name="review_claim"),
    path("review/<int:pk>/live/", views.review_live, name="review_live"),
    path("review/guidelines/", views.review_guidelines, name="review_guidelines"),
    path("data/", public_views.data_list, name="data_list"),
    path("data/<int:pk>/", public_views.data_detail, name="data_detail"),
    path("data/<int:pk>/report/", views.data_report, name="data_report"),
    path("data/<int:pk>/explore/", explorer_views.explore_corpus, name="explore_corpus"),
    path("data/<int:pk>/explore/rows/<int:doc_index>/", explorer_views.explore_corpus_row, name="explore_corpus_row"),
    path("maintainers/reports/", views.reports_queue, name="reports_queue"),
    path("maintainers/reports/<int:report_id>/", views.report_resolve, name="report_resolve"),
    path("maintainers/members/<int:user_id>/suspend/", views.member_suspend, name="member_suspend"),
    path("maintainers/members/<int:user_id>/reinstate/", views.member_reinstate, name="member_reinstate"),
    path("maintainers/reviewers/", views.reviewer_stats, name="reviewer_stats"),
    path("notifications/", views.notification_list, name="notifications"),
]

urlpatterns += [
    path("maintainers/training-queue/", views.training_queue, name="training_queue"),
    path("releases/", releases_views.release_list, name="release_list"),
    # Before the versions: "feed" is not one.
    path("releases/feed/", releases_views.release_feed, name="release_feed"),
    path("releases/<slug:version>/", releases_views.release_detail, name="release_detail"),
    path("releases/<slug:version>/live/", releases_views.release_live, name="release_live"),
    path("releases/<slug:version>/files/<path:path>", releases_views.release_file, name="release_file"),
    path("releases/<slug:version>/explore/", explorer_views.explore_release_default, name="explore_release_default"),
    path("releases/<slug:version>/explore/<slug:config>/", explorer_views.explore_release, name="explore_release"),
    path(
        "releases/<slug:version>/explore/<slug:config>/rows/<str:row_id>/",
        explorer_views.explore_release_row,
        name="explore_release_row",
    ),
    path("removal/", views.removal_new, name="removal_new"),
    path("removal/<str:token>/", views.removal_status, name="removal_status"),
    path("removal/<str:token>/live/", views.removal_status_live, name="removal_status_live"),
    path("maintainers/removals/", views.removal_queue, name="removal_queue"),
    path("maintainers/removals/<int:request_id>/", views.removal_decide, name="removal_decide"),
]

urlpatterns += [
    path("maintainers/operations/", views.operations_page, name="operations"),
    path("maintainers/operations/live/", views.operations_live, name="operations_live"),
    path("maintainers/jobs/<slug:kind>/<int:job_id>/retry/", views.job_retry, name="job_retry"),
    path("maintainers/jobs/<slug:kind>/<int:job_id>/cancel/", views.job_cancel, name="job_cancel"),
]

urlpatterns += [
    path("dashboard/", dashboard_views.dashboard_page, name="dashboard"),
    path("dashboard/live/", dashboard_views.dashboard_live, name="dashboard_live"),
    path("notifications/live/", dashboard_views.notifications_live, name="notifications_live"),
]

urlpatterns += [
    path("stats/", stats_views.stats_page, name="stats"),
    path("stats.json", stats_views.stats_json, name="stats_json"),
]
