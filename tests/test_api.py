"""The REST API: tokens, corpora, files, errors, filters and rates."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import timezone

from contributions import tokens
from contributions.models import ApiToken, Corpus, CorpusStatus

from .corpora import FRENCH, METADATA, add_file, analysed, make_corpus
from .factories import UserFactory

pytestmark = pytest.mark.django_db


def api(user=None, *, days: int = 30) -> Client:
    """A client that calls the API with a fresh personal token of ``user``."""
    if user is None:
        return Client()
    _token, key = tokens.token_create(user=user, name="script", days=days)
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def error_of(response) -> dict:
    body = response.json()
    assert set(body) >= {"code", "message", "field", "errors"}, body
    return body


def test_member_creates_lists_and_reads_a_corpus_with_a_token(member):
    client = api(member)
    response = client.post("/api/v1/corpora/", METADATA, content_type="application/json")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["status"] == "draft" and created["title"] == METADATA["title"]
    assert Corpus.objects.get(pk=created["id"]).submitter == member
    listed = client.get("/api/v1/corpora/").json()
    assert [c["id"] for c in listed["results"]] == [created["id"]]
    assert client.get(f"/api/v1/corpora/{created['id']}/").json()["license"] == METADATA["license"]


def test_corpus_of_another_member_does_not_exist_for_a_member(member, other_member):
    corpus = make_corpus(other_member)
    response = api(member).get(f"/api/v1/corpora/{corpus.pk}/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


def test_bad_metadata_is_a_400_naming_the_field(member):
    response = api(member).post(
        "/api/v1/corpora/", {**METADATA, "license": "stolen", "period_start": 2020, "period_end": 2010},
        content_type="application/json",
    )
    assert response.status_code == 400
    body = error_of(response)
    fields = {error["field"] for error in body["errors"]}
    assert "license" in fields
    assert body["code"] == "invalid_choice"


def test_metadata_checked_together_as_the_form_does(member):
    response = api(member).post(
        "/api/v1/corpora/", {**METADATA, "source_url": "", "collection_method": ""}, content_type="application/json"
    )
    assert response.status_code == 400
    assert error_of(response)["field"] == "source_url"


def test_malformed_json_is_a_400_in_the_error_shape(member):
    response = api(member).post("/api/v1/corpora/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_unknown_filter_is_a_400_never_a_lookup(member):
    make_corpus(member)
    response = api(member).get("/api/v1/corpora/?submitter__password__startswith=md5")
    assert response.status_code == 400
    body = error_of(response)
    assert body["code"] == "unknown_parameter"
    assert body["field"] == "submitter__password__startswith"


def test_filter_and_ordering_on_allowed_fields(member):
    draft = make_corpus(member, title="B")
    other = make_corpus(member, title="A")
    Corpus.objects.filter(pk=other.pk).update(status=CorpusStatus.WITHDRAWN)
    client = api(member)
    assert [c["id"] for c in client.get("/api/v1/corpora/?status=draft").json()["results"]] == [draft.pk]
    assert [c["title"] for c in client.get("/api/v1/corpora/?ordering=title").json()["results"]] == ["A", "B"]
    assert error_of(client.get("/api/v1/corpora/?ordering=submitter__password"))["code"] == "invalid_ordering"
    assert error_of(client.get("/api/v1/corpora/?status=nope"))["code"] == "invalid_choice"


def test_anonymous_call_is_a_401_asking_for_a_token():
    response = Client().get("/api/v1/corpora/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert error_of(response)["code"] == "not_authenticated"


def test_expired_token_is_refused(member):
    token, key = tokens.token_create(user=member, name="old", days=1)
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - datetime.timedelta(seconds=1))
    response = Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/v1/corpora/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "authentication_failed"


def test_revoked_token_is_refused(member):
    token, key = tokens.token_create(user=member, name="x", days=10)
    client = Client(HTTP_AUTHORIZATION=f"Token {key}")
    assert client.get("/api/v1/corpora/").status_code == 200
    tokens.token_revoke(token=token, actor=member)
    assert client.get("/api/v1/corpora/").status_code == 401


def test_token_of_a_suspended_member_is_refused(member):
    client = api(member)
    member.is_active = False
    member.save(update_fields=["is_active"])
    assert client.get("/api/v1/corpora/").status_code == 401


def test_token_is_stored_hashed(member):
    token, key = tokens.token_create(user=member, name="x", days=10)
    row = ApiToken.objects.get(pk=token.pk)
    assert key not in {row.key_hash, row.prefix, row.name}
    assert key.startswith(row.prefix)


def test_member_who_has_not_accepted_the_agreement_is_told_so():
    user = UserFactory(agreement=False)
    response = api(user).get("/api/v1/corpora/")
    assert response.status_code == 403
    assert error_of(response)["code"] == "agreement_required"


def test_unknown_api_url_answers_json():
    response = Client().get("/api/v1/nothing-here/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"


@override_settings(REST_FRAMEWORK={
    **settings.REST_FRAMEWORK,
    "DEFAULT_THROTTLE_RATES": {"token": "3/minute", "member": "5/minute", "anonymous": "3/minute",
                               "upload": "3/minute"},
})
def test_calls_past_the_token_rate_get_a_429_with_retry_after(member):
    client = api(member)
    statuses = [client.get("/api/v1/corpora/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = client.get("/api/v1/corpora/")
    assert error_of(response)["code"] == "throttled"
    assert int(response["Retry-After"]) > 0
    # Another token of the same member has its own count, within the
    # member's: five calls let through in all, whatever the tokens.
    other = api(member)
    assert [other.get("/api/v1/corpora/").status_code for _ in range(3)] == [200, 200, 429]
    assert api(UserFactory()).get("/api/v1/corpora/").status_code == 200


def test_calls_with_wrong_tokens_are_limited_per_address(settings, monkeypatch):
    from types import SimpleNamespace

    from contributions import ratelimits

    # At the start of an hour: the window does not end between two calls.
    monkeypatch.setattr(ratelimits, "time", SimpleNamespace(time=lambda: 1_800_000_000.0))
    settings.RATE_LIMITS = {**settings.RATE_LIMITS, "api_auth": "3/h/ip"}
    client = Client(HTTP_AUTHORIZATION="Token oll_guess")
    statuses = [client.get("/api/v1/corpora/").status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    assert error_of(client.get("/api/v1/corpora/"))["code"] == "throttled"


def test_owner_uploads_files_in_multipart_and_a_bad_one_is_named(member):
    corpus = make_corpus(member)
    from .corpora import upload

    response = api(member).post(
        f"/api/v1/corpora/{corpus.pk}/files/",
        {"files": [upload("a.txt", FRENCH[0]), upload("b.exe", b"MZ\x90")], "split": "file"},
    )
    assert response.status_code == 400, response.content
    body = error_of(response)
    assert body["code"] == "file_rejected" and "b.exe" in body["message"]
    assert [f["name"] for f in body["added"]] == ["a.txt"]
    assert [f.original_name for f in corpus.files.all()] == ["a.txt"]


def test_submit_then_status_shows_the_analysis(member):
    corpus = make_corpus(member)
    add_file(corpus, "a.txt", FRENCH[0])
    client = api(member)
    response = client.post(f"/api/v1/corpora/{corpus.pk}/submit/")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "submitted"
    assert response.json()["analysis"]["status"] == "queued"
    again = client.post(f"/api/v1/corpora/{corpus.pk}/submit/")
    assert again.status_code == 400
    assert error_of(again)["message"]


def test_report_once_analysed_and_documents_for_reviewers_only(member, reviewer):
    corpus, _run = analysed(member, [("a.txt", FRENCH[0] + " Écrivez à jean.dupont@example.org.")])
    status = api(member).get(f"/api/v1/corpora/{corpus.pk}/status/").json()
    assert status["analysis"]["status"] == "done" and status["analysis"]["percent"] == 100
    assert status["analysis"]["report"]["documents"] == 1
    assert api(member).get(f"/api/v1/corpora/{corpus.pk}/documents/").status_code == 403
    documents = api(reviewer).get(f"/api/v1/corpora/{corpus.pk}/documents/?personal_data=email").json()
    assert documents["count"] == 1
    assert documents["results"][0]["personal_data"] == {"email": 1}
    assert api(reviewer).get(f"/api/v1/corpora/{corpus.pk}/documents/?personal_data=phone").json()["count"] == 0
    refused = api(reviewer).get(f"/api/v1/corpora/{corpus.pk}/documents/?personal_data=password")
    assert error_of(refused)["field"] == "personal_data"


def test_schema_and_docs_are_served_from_the_site():
    schema = Client().get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/v1/corpora/" in schema.content
    docs = Client().get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "http" not in html.split("<body>")[1].replace("http-equiv", "")


@pytest.mark.browser
def test_api_docs_render_with_nothing_from_another_origin(browser, live_server):
    page = browser.new_page()
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector("text=/api/v1/corpora/")
    assert [url for url in requests if not url.startswith((live_server.url, "data:", "blob:"))] == []
    assert errors == []
    page.close()


def test_a_json_body_past_the_limit_is_refused_unread(member):
    body = '{"title": "' + "x" * (3 * 1024 * 1024) + '"}'
    response = api(member).post("/api/v1/corpora/", body, content_type="application/json")
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_large"


def test_a_json_body_announced_past_the_limit_is_refused_before_it_arrives(member, live_server):
    """On a real server DRF reads the stream itself, past Django's check:
    the announced length is refused without waiting for the body."""
    import http.client
    from urllib.parse import urlsplit

    _token, key = tokens.token_create(user=member, name="big", days=1)
    address = urlsplit(live_server.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.putrequest("POST", "/api/v1/corpora/")
    for name, value in [("Authorization", f"Token {key}"), ("Content-Type", "application/json"),
                        ("Content-Length", str(50 * 1024 * 1024))]:
        connection.putheader(name, value)
    connection.endheaders(b'{"title": "')
    response = connection.getresponse()
    assert response.status == 413
    assert b"too_large" in response.read()
    connection.close()


def test_corpus_list_costs_the_same_queries_for_one_corpus_or_thirty(member):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(member)
    make_corpus(member)
    client.get("/api/v1/corpora/")  # the token's first use is written once
    with CaptureQueriesContext(connection) as one:
        assert client.get("/api/v1/corpora/").status_code == 200
    for _ in range(29):
        make_corpus(member)
    with CaptureQueriesContext(connection) as thirty:
        assert len(client.get("/api/v1/corpora/").json()["results"]) == 30
    assert len(thirty) == len(one)
    assert len(one) <= 4  # the token and its member, the agreement, the count, the page


def test_json_nested_too_deeply_is_a_400(member):
    response = api(member).post("/api/v1/corpora/", "[" * 5000 + "]" * 5000, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"


def test_an_unknown_host_and_an_internal_error_answer_json_under_api(member, monkeypatch):
    response = Client(HTTP_HOST="evil.example").get("/api/v1/stats/")
    assert response.status_code == 400
    assert error_of(response)["code"] == "bad_request"
    from contributions.api import corpora

    def broken(**kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(corpora.submissions, "corpus_create", broken)
    client = api(member)
    client.raise_request_exception = False
    response = client.post("/api/v1/corpora/", METADATA, content_type="application/json")
    assert response.status_code == 500
    assert error_of(response)["code"] == "server_error"
    # The pages keep their own.
    assert Client(HTTP_HOST="evil.example").get("/").status_code == 400
