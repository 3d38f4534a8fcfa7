from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from . import corpora, tus

app_name = "api"

urlpatterns: list[URLPattern | URLResolver] = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
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
]
urlpatterns += [path("v1/", include(v1))]
