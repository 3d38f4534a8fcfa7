from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import corpora, public, releases, review, tus

app_name = "api"

# Swagger UI only: Redoc's bundle fetches fonts from Google and a logo from
# its CDN, which the site never lets a page do.
urlpatterns: list[URLPattern | URLResolver] = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]

v1 = [
    path("corpora/", corpora.CorpusList.as_view(), name="corpus_list"),
    path("corpora/<int:pk>/", corpora.CorpusDetail.as_view(), name="corpus_detail"),
    path("corpora/<int:pk>/submit/", corpora.CorpusSubmit.as_view(), name="corpus_submit"),
    path("corpora/<int:pk>/withdraw/", corpora.CorpusWithdraw.as_view(), name="corpus_withdraw"),
    path("corpora/<int:pk>/status/", corpora.CorpusStatusView.as_view(), name="corpus_status"),
    path("corpora/<int:pk>/files/", corpora.CorpusFiles.as_view(), name="corpus_files"),
    path("corpora/<int:pk>/files/<int:file_id>/", corpora.CorpusFileDetail.as_view(), name="corpus_file"),
    path("corpora/<int:pk>/files/<int:file_id>/download/", corpora.CorpusFileDownload.as_view(),
         name="corpus_file_download"),
    path("corpora/<int:pk>/documents/", corpora.CorpusDocuments.as_view(), name="corpus_documents"),
    path("uploads/", tus.UploadCreate.as_view(), name="upload_create"),
    path("uploads/<str:key>", tus.UploadDetail.as_view(), name="upload_detail"),
    path("me/", public.Me.as_view(), name="me"),
    path("review/queue/", review.ReviewQueue.as_view(), name="review_queue"),
    path("review/<int:pk>/decisions/", review.ReviewDecisionCreate.as_view(), name="review_decisions"),
    path("review/<int:pk>/claim/", review.ReviewClaim.as_view(), name="review_claim"),
    path("training-queue/", releases.TrainingQueue.as_view(), name="training_queue"),
    path("releases/", releases.ReleaseList.as_view(), name="release_list"),
    path("releases/<slug:version>/", releases.ReleaseDetail.as_view(), name="release_detail"),
    path("releases/<slug:version>/build/", releases.ReleaseBuild.as_view(), name="release_build"),
    path("releases/<slug:version>/files/<path:path>", releases.ReleaseFileDownload.as_view(), name="release_file"),
    path("stats/", public.StatsView.as_view(), name="stats"),
    path("catalogue/", public.Catalogue.as_view(), name="catalogue"),
    path("catalogue/<int:pk>/", public.CatalogueCorpus.as_view(), name="catalogue_corpus"),
]
urlpatterns += [path("v1/", include(v1))]
