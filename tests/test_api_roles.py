"""Who may do what through the API: every URL of /api/, every method, every
role, with a personal token (as scripts call it). Then what the review,
release and public endpoints do.

Later endpoints add their URLs to MATRIX; test_every_api_url_is_in_the_matrix
fails until they do.
"""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from contributions import resumable, tokens
from contributions.models import Corpus, CorpusStatus, JobStatus, Release, Review, TrainingVersion

from .corpora import FRENCH, METADATA, add_file, analysed, job_finished, make_corpus, upload
from .factories import MaintainerFactory, ReviewerFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "owner", "member", "reviewer", "maintainer"]
METHODS = ["get", "head", "post", "put", "patch", "delete"]
NO = 405
ANONYMOUS = 401  # the API asks for a token; it never redirects to a login page


def same(status):
    return dict.fromkeys(ROLES, status)


# A method a view does not have: members hear 405; anonymous callers of a
# view for members are refused before the method is looked at.
MEMBERS_NO = {**same(NO), "anonymous": ANONYMOUS}
READERS = {"anonymous": ANONYMOUS, "owner": 200, "member": 404, "reviewer": 200, "maintainer": 200}


def OWNER_ONLY(status):  # noqa: N802 - reads as a constant in the table
    return {"anonymous": ANONYMOUS, "owner": status, "member": 404, "reviewer": 404, "maintainer": 404}


def MEMBERS(status):  # noqa: N802
    return {**same(status), "anonymous": ANONYMOUS}


def REVIEWERS(status):  # noqa: N802
    return {"anonymous": ANONYMOUS, "owner": 403, "member": 403, "reviewer": status, "maintainer": status}


def MAINTAINERS(status):  # noqa: N802
    return {"anonymous": ANONYMOUS, "owner": 403, "member": 403, "reviewer": 403, "maintainer": status}


def row(no, **methods):
    """Every method: those given, ``no`` for the others. HEAD answers as GET
    unless given."""
    if "get" in methods:
        methods.setdefault("head", methods["get"])
    return {method: methods.get(method, no) for method in METHODS}


def members(**methods):  # a view for signed-in members
    return row(MEMBERS_NO, **methods)


# The role is checked before the method: a member hears 403 from a view for
# reviewers whatever the method.
def reviewers(**methods):
    return row(REVIEWERS(NO), **methods)


def maintainers(**methods):
    return row(MAINTAINERS(NO), **methods)


def public(**methods):  # a view anyone may call
    return row(same(NO), **methods)


# URL name -> {method: {role: expected status}}. "owner" is the member who
# owns the object in the URL.
MATRIX = {
    # The schema and its documentation pages are public.
    "api:schema": public(get=same(200)),
    "api:docs": public(get=same(200)),
    # Corpora: the caller's own; reviewers and maintainers read any of them,
    # only the submitter changes one. To everyone else it does not exist.
    "api:corpus_list": members(get=MEMBERS(200), post=MEMBERS(201)),
    "api:corpus_detail": members(get=READERS, patch=OWNER_ONLY(200)),
    "api:corpus_submit": members(post=OWNER_ONLY(202)),
    "api:corpus_withdraw": members(post=OWNER_ONLY(200)),
    "api:corpus_status": members(get=READERS),
    "api:corpus_files": members(get=READERS, post=OWNER_ONLY(201)),
    "api:corpus_file": members(get=READERS, delete=OWNER_ONLY(204)),
    "api:corpus_file_download": members(get=READERS),
    # The documents under review: reviewers only (the owner is a member here).
    "api:corpus_documents": reviewers(get=REVIEWERS(200)),
    # tus: uploads into the caller's own corpus, followed by their maker only.
    "api:upload_create": members(post=OWNER_ONLY(201)),
    "api:upload_detail": members(get=MEMBERS_NO, head=OWNER_ONLY(200), patch=OWNER_ONLY(204),
                                 delete=OWNER_ONLY(204)),
    "api:me": members(get=MEMBERS(200)),
    # Review: reviewers and maintainers.
    "api:review_queue": reviewers(get=REVIEWERS(200)),
    "api:review_decisions": reviewers(post=REVIEWERS(201)),
    "api:review_claim": reviewers(post=REVIEWERS(200), delete=REVIEWERS(204)),
    # Releases: maintainers build them and see every one; this one is private.
    "api:training_queue": maintainers(get=MAINTAINERS(200)),
    "api:release_list": public(get=same(200), post=MAINTAINERS(201)),
    "api:release_detail": public(get={**same(404), "maintainer": 200}),
    "api:release_build": maintainers(post=MAINTAINERS(202)),
    "api:release_file": public(get={**same(404), "maintainer": 200}),
    # Public data.
    "api:stats": public(get=same(200)),
    "api:catalogue": public(get=same(200)),
    "api:catalogue_corpus": public(get=same(200)),
}


def private_release(status: str = JobStatus.DONE) -> Release:
    prefix = "releases/private/attempt-1"
    default_storage.save(f"{prefix}/README.md", ContentFile(b"# x"))
    return Release.objects.create(
        version="private", status=status, prefix=prefix, files=[{"path": "README.md", "sha256": "", "bytes": 3}],
    )


def ready_for_release(owner) -> Corpus:
    """A corpus queued for training with its training-ready version built."""
    corpus = make_corpus(owner)
    Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.QUEUED_FOR_TRAINING)
    TrainingVersion.objects.create(corpus=corpus, corpus_version=corpus.version, status=JobStatus.DONE)
    return corpus


def metadata(**values: str) -> str:
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in values.items())


FILE_URLS = {"api:corpus_file", "api:corpus_file_download"}


def url_for(name: str, owner) -> tuple[str, dict[str, dict]]:
    """The URL, with objects that belong to ``owner`` where it takes one, and
    what each method sends: a request that would succeed for the owner."""
    json = {"content_type": "application/json"}
    if name in {"api:corpus_detail", "api:corpus_submit", "api:corpus_withdraw", "api:corpus_status",
                "api:corpus_files", "api:corpus_file", "api:corpus_file_download", "api:corpus_documents"}:
        corpus = make_corpus(owner)
        stored = add_file(corpus, "a.txt", FRENCH[0])
        kwargs = {"pk": corpus.pk, **({"file_id": stored.pk} if name in FILE_URLS else {})}
        return reverse(name, kwargs=kwargs), {
            "patch": {"data": {"title": "Nouveau titre"}, **json},
            "post": {"data": {"files": [upload("b.txt", FRENCH[1])]}} if name == "api:corpus_files" else {},
        }
    if name == "api:corpus_list":
        return reverse(name), {"post": {"data": METADATA, **json}}
    if name == "api:upload_create":
        corpus = make_corpus(owner)
        return reverse(name), {"post": {"HTTP_UPLOAD_LENGTH": "3", "HTTP_UPLOAD_METADATA": metadata(
            filename="a.txt", corpus=str(corpus.pk))}}
    if name == "api:upload_detail":
        data = FRENCH[0].encode()
        created = resumable.upload_create(user=owner, corpus=make_corpus(owner), name="a.txt", length=len(data))
        return reverse(name, args=[created.key]), {"patch": {
            "data": data, "content_type": "application/offset+octet-stream", "HTTP_UPLOAD_OFFSET": "0"}}
    if name == "api:review_decisions":
        corpus = make_corpus(owner)
        Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.AWAITING_REVIEW)
        return reverse(name, kwargs={"pk": corpus.pk}), {"post": {"data": {"decision": "approve"}, **json}}
    if name == "api:review_claim":
        corpus = make_corpus(owner)
        Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.AWAITING_REVIEW)
        return reverse(name, kwargs={"pk": corpus.pk}), {}
    if name == "api:release_list":
        ready_for_release(owner)
        return reverse(name), {"post": {"data": {"version": "api-1"}, **json}}
    if name in {"api:release_detail", "api:release_file"}:
        release = private_release()
        kwargs = {"version": release.version, **({"path": "README.md"} if name == "api:release_file" else {})}
        return reverse(name, kwargs=kwargs), {}
    if name == "api:release_build":
        return reverse(name, kwargs={"version": private_release(JobStatus.FAILED).version}), {}
    if name == "api:catalogue_corpus":
        corpus = make_corpus(owner)
        Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.APPROVED)
        return reverse(name, kwargs={"pk": corpus.pk}), {}
    return reverse(name), {}


def api_client(user) -> Client:
    # tus asks every request for its version; the other views ignore it.
    headers = {"HTTP_TUS_RESUMABLE": "1.0.0"}
    if user is not None:
        _token, key = tokens.token_create(user=user, name="matrix", days=30)
        headers["HTTP_AUTHORIZATION"] = f"Token {key}"
    return Client(**headers)


def _cases():
    for name, methods in MATRIX.items():
        for method, expected in methods.items():
            for role in ROLES:
                yield pytest.param(name, method, role, expected[role], id=f"{name}-{method}-{role}")


@pytest.mark.parametrize(("name", "method", "role", "status"), list(_cases()))
def test_api_access(name, method, role, status):
    owner = UserFactory()
    users = {
        "anonymous": None,
        "owner": owner,
        "member": UserFactory(),
        "reviewer": ReviewerFactory(),
        "maintainer": MaintainerFactory(),
    }
    url, sent = url_for(name, owner)
    response = getattr(api_client(users[role]), method)(url, **sent.get(method, {}))
    assert response.status_code == status, getattr(response, "content", b"")[:500]
    if status >= 400 and method != "head" and name not in {"api:schema", "api:docs"}:
        # Every refusal of /api/v1/ is the API's JSON error, never a page.
        assert set(response.json()) >= {"code", "message", "field", "errors"}


def _api_names(patterns, inside: bool = False):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if inside or pattern.namespace == "api":
                yield from _api_names(pattern.url_patterns, inside=True)
        elif isinstance(pattern, URLPattern) and inside:
            yield f"api:{pattern.name}"


def test_every_api_url_is_in_the_matrix():
    assert set(_api_names(get_resolver().url_patterns)) == set(MATRIX)


# ---------------------------------------------------------------- behaviour


def api(user=None) -> Client:
    if user is None:
        return Client()
    _token, key = tokens.token_create(user=user, name="script", days=30)
    return Client(HTTP_AUTHORIZATION=f"Token {key}")


def error_of(response) -> dict:
    body = response.json()
    assert set(body) >= {"code", "message", "field", "errors"}, body
    return body


def awaiting(user, **metadata) -> Corpus:
    corpus, _run = analysed(user, [("a.txt", FRENCH[0])], **metadata)
    assert corpus.status == CorpusStatus.AWAITING_REVIEW
    return corpus


def test_me_says_who_calls_and_never_more(member):
    body = api(member).get("/api/v1/me/").json()
    assert body == {"id": member.pk, "email": member.email, "role": "member", "pseudonym": member.pseudonym,
                    "display_name": member.display_name}


def test_the_queue_lists_others_corpora_filtered(member, other_member, reviewer):
    mine = awaiting(reviewer)
    french = awaiting(member)
    english = awaiting(other_member, languages=["en"], license="CC-BY-4.0")
    client = api(reviewer)
    listed = client.get("/api/v1/review/queue/").json()
    assert [c["id"] for c in listed["results"]] == [french.pk, english.pk]
    assert mine.pk not in {c["id"] for c in listed["results"]}
    assert listed["results"][0]["approvals"] == 0
    assert [c["id"] for c in client.get("/api/v1/review/queue/?language=en").json()["results"]] == [english.pk]
    assert [c["id"] for c in client.get("/api/v1/review/queue/?license=etalab-2.0").json()["results"]] == [
        french.pk]
    assert error_of(client.get("/api/v1/review/queue/?language=xx"))["code"] == "invalid_choice"
    assert error_of(client.get("/api/v1/review/queue/?submitter=1"))["code"] == "unknown_parameter"
    assert error_of(client.get("/api/v1/review/queue/?ordering=title"))["code"] == "invalid_ordering"


def test_a_claim_through_the_api_is_seen_by_other_reviewers_until_given_up(member, reviewer):
    corpus = awaiting(member)
    other = ReviewerFactory()
    claimed = api(reviewer).post(f"/api/v1/review/{corpus.pk}/claim/")
    assert claimed.status_code == 200, claimed.content
    claim = claimed.json()
    assert claim["claimed_by"] == reviewer.public_name
    [entry] = api(other).get("/api/v1/review/queue/").json()["results"]
    assert (entry["claimed_by"], entry["claim_expires_at"]) == (claim["claimed_by"], claim["claim_expires_at"])
    assert api(other).get("/api/v1/review/queue/?hide_claimed=true").json()["results"] == []
    taken = api(other).post(f"/api/v1/review/{corpus.pk}/claim/")
    assert taken.status_code == 400 and error_of(taken)["code"] == "claimed"
    assert error_of(taken)["message"] == "Un autre relecteur est déjà sur ce corpus."
    assert api(reviewer).delete(f"/api/v1/review/{corpus.pk}/claim/").status_code == 204
    [entry] = api(other).get("/api/v1/review/queue/?hide_claimed=true").json()["results"]
    assert (entry["claimed_by"], entry["claim_expires_at"]) == (None, None)


def test_two_approvals_move_the_corpus_to_approved(member, reviewer):
    corpus = awaiting(member)
    first = api(reviewer).post(f"/api/v1/review/{corpus.pk}/decisions/", {"decision": "approve"},
                               content_type="application/json")
    assert first.status_code == 201, first.content
    assert first.json()["status"] == "awaiting_review"
    again = api(reviewer).post(f"/api/v1/review/{corpus.pk}/decisions/", {"decision": "approve"},
                               content_type="application/json")
    assert again.status_code == 400
    assert error_of(again)["message"] == "Vous avez déjà décidé pour cette version."
    second = api(ReviewerFactory()).post(f"/api/v1/review/{corpus.pk}/decisions/", {"decision": "approve"},
                                         content_type="application/json")
    assert second.status_code == 201
    assert second.json()["status"] == "approved"
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.APPROVED
    assert Review.objects.filter(corpus=corpus).count() == 2


def test_a_reviewer_cannot_decide_on_their_own_corpus(reviewer):
    corpus = awaiting(reviewer)
    response = api(reviewer).post(f"/api/v1/review/{corpus.pk}/decisions/", {"decision": "approve"},
                                  content_type="application/json")
    assert response.status_code == 403
    body = error_of(response)
    assert body["code"] == "permission_denied"
    assert body["message"] == "Vous ne pouvez pas relire votre propre corpus."
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.AWAITING_REVIEW and not Review.objects.exists()


def test_a_rejection_needs_a_comment_and_a_reason(member, reviewer):
    corpus = awaiting(member)
    client = api(reviewer)
    url = f"/api/v1/review/{corpus.pk}/decisions/"
    silent = client.post(url, {"decision": "reject", "reason": "quality"}, content_type="application/json")
    assert silent.status_code == 400 and error_of(silent)["message"] == "Expliquez pourquoi dans un commentaire."
    unknown = client.post(url, {"decision": "reject", "reason": "mood", "comment": "x"},
                          content_type="application/json")
    assert error_of(unknown)["field"] == "reason"
    done = client.post(url, {"decision": "reject", "reason": "quality", "comment": "Trop court."},
                       content_type="application/json")
    assert done.status_code == 201 and done.json()["status"] == "rejected"


def queued(user, maintainer) -> Corpus:
    """Approved by a maintainer, its training-ready version built."""
    corpus = awaiting(user)
    response = api(maintainer).post(f"/api/v1/review/{corpus.pk}/decisions/", {"decision": "approve"},
                                    content_type="application/json")
    assert response.json()["status"] == "approved"
    job_finished("training", TrainingVersion.objects.get(corpus=corpus).pk)
    return corpus


def test_a_release_is_built_seen_by_maintainers_only_while_private_and_downloaded(member, maintainer):
    corpus = queued(member, maintainer)
    client = api(maintainer)
    queue = client.get("/api/v1/training-queue/").json()
    assert [(e["corpus"]["id"], e["corpus_version"]) for e in queue["results"]] == [(corpus.pk, 1)]

    created = client.post("/api/v1/releases/", {"version": "2026-12", "licenses": ["etalab-2.0"]},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["version"], body["status"], body["public"], body["files"]) == ("2026-12", "queued", False, [])
    assert body["filters"]["licenses"] == ["etalab-2.0"]
    taken = client.post("/api/v1/releases/", {"version": "2026-12"}, content_type="application/json")
    assert error_of(taken)["message"] == "Une version portant ce nom existe déjà."

    job_finished("release", Release.objects.get(version="2026-12").pk)
    detail = client.get("/api/v1/releases/2026-12/").json()
    assert detail["status"] == "done" and detail["stats"]["documents"] == 1 and detail["notes"]
    assert [r["version"] for r in client.get("/api/v1/releases/").json()["results"]] == ["2026-12"]
    for other in (Client(), api(member)):
        assert other.get("/api/v1/releases/").json()["results"] == []
        assert other.get("/api/v1/releases/2026-12/").status_code == 404

    for entry in detail["files"]:
        response = client.get(f"/api/v1/releases/2026-12/files/{entry['path']}")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/octet-stream"
        content = b"".join(response.streaming_content)
        assert len(content) == entry["bytes"]
        assert hashlib.sha256(content).hexdigest() == entry["sha256"]
    assert {f["path"] for f in detail["files"]} >= {"README.md", "MANIFEST.sha256", "data/open/train-00000.parquet"}
    assert client.get("/api/v1/releases/2026-12/files/../secret").status_code == 404

    Release.objects.filter(version="2026-12").update(public=True)
    assert [r["version"] for r in Client().get("/api/v1/releases/").json()["results"]] == ["2026-12"]
    readme = Client().get("/api/v1/releases/2026-12/files/README.md")
    assert readme.status_code == 200 and b"".join(readme.streaming_content).startswith(b"---")


def test_restricted_files_go_to_members_only(member):
    prefix = "releases/mixed/attempt-1"
    paths = ["data/open/train-00000.parquet", "data/restricted/train-00000.parquet"]
    for path in paths:
        default_storage.save(f"{prefix}/{path}", ContentFile(b"PAR1"))
    Release.objects.create(version="mixed", status=JobStatus.DONE, public=True, prefix=prefix,
                           files=[{"path": p, "sha256": "0" * 64, "bytes": 4} for p in paths])
    assert Client().get(f"/api/v1/releases/mixed/files/{paths[0]}").status_code == 200
    refused = Client().get(f"/api/v1/releases/mixed/files/{paths[1]}")
    assert refused.status_code == 401 and error_of(refused)["code"] == "not_authenticated"
    assert api(member).get(f"/api/v1/releases/mixed/files/{paths[1]}").status_code == 200


def test_only_a_failed_build_is_tried_again(maintainer):
    release = Release.objects.create(version="broken", status=JobStatus.FAILED, error="disque plein")
    client = api(maintainer)
    response = client.post("/api/v1/releases/broken/build/")
    assert response.status_code == 202, response.content
    assert response.json()["status"] == "queued"
    release.refresh_from_db()
    assert release.status == JobStatus.QUEUED
    again = client.post("/api/v1/releases/broken/build/")
    assert again.status_code == 400
    assert error_of(again)["message"] == "Seule une tâche échouée ou annulée peut être relancée."


def test_a_release_needs_a_slug_and_known_choices(maintainer):
    client = api(maintainer)
    bad = client.post("/api/v1/releases/", {"version": "no spaces", "languages": ["xx"]},
                      content_type="application/json")
    assert bad.status_code == 400
    assert {e["field"] for e in error_of(bad)["errors"]} == {"version", "languages.0"}
    empty = client.post("/api/v1/releases/", {"version": "v1"}, content_type="application/json")
    assert empty.status_code == 400 and not Release.objects.exists()


def test_stats_and_catalogue_are_public(member, maintainer):
    corpus = queued(member, maintainer)
    awaiting(UserFactory())  # not accepted: never listed
    stats = Client().get("/api/v1/stats/")
    assert stats.status_code == 200
    assert stats.json()["totals"]["corpora"] == 1
    assert stats.json() == Client().get("/stats.json").json()

    listed = Client().get("/api/v1/catalogue/")
    assert listed.status_code == 200
    [entry] = listed.json()["results"]
    assert entry["id"] == corpus.pk and entry["credit"] == member.pseudonym and entry["main_languages"] == ["fr"]
    assert Client().get("/api/v1/catalogue/?language=fr&size=small&sort=words").json()["count"] == 1
    # A corpus that gives no period matches no period.
    assert Client().get("/api/v1/catalogue/?period_from=1900").json()["count"] == 0
    assert Client().get("/api/v1/catalogue/?family=restricted").json()["count"] == 0
    assert error_of(Client().get("/api/v1/catalogue/?period_from=year"))["field"] == "period_from"

    card = Client().get(f"/api/v1/catalogue/{corpus.pk}/")
    assert card.status_code == 200
    data = card.json()
    assert data["title"] == METADATA["title"] and data["reviews"]["approvals"] == 1
    assert data["report"]["documents"] == 1 and data["samples"][0]["text"].startswith("Le conseil")
    assert member.email not in card.content.decode()


def test_an_unpublished_corpus_is_not_in_the_catalogue(member):
    corpus = awaiting(member)
    assert Client().get(f"/api/v1/catalogue/{corpus.pk}/").status_code == 404
    assert Client().get("/api/v1/catalogue/").json()["count"] == 0


def test_a_member_without_the_current_agreement_reads_no_public_data_either():
    # As on the pages, which send such a member to the agreement first.
    client = api(UserFactory(agreement=False))
    assert error_of(client.get("/api/v1/stats/"))["code"] == "agreement_required"



def _rows(count: int) -> None:
    """Of each kind the lists show: published corpora, corpora waiting for
    review, corpora ready for a release, releases built."""
    for _ in range(count):
        owner = UserFactory()
        for status in (CorpusStatus.APPROVED, CorpusStatus.AWAITING_REVIEW):
            Corpus.objects.filter(pk=make_corpus(owner).pk).update(status=status)
        ready_for_release(owner)
        Release.objects.create(version=f"r{Release.objects.count()}", status=JobStatus.DONE, public=True,
                               files=[{"path": "README.md", "sha256": "0" * 64, "bytes": 1}])


@pytest.mark.parametrize("url", ["/api/v1/catalogue/", "/api/v1/review/queue/", "/api/v1/training-queue/",
                                 "/api/v1/releases/"])
def test_lists_cost_the_same_queries_for_one_row_or_many(url, maintainer):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(maintainer)
    client.get("/api/v1/me/")  # the token's first use is written down once

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        return len(captured)

    _rows(1)
    one = queries()
    _rows(6)
    assert client.get(url).json()["count"] >= 7
    assert queries() == one


def test_a_release_of_only_the_corpora_named_and_never_one_not_ready(member, other_member, maintainer):
    chosen, left, draft = ready_for_release(member), ready_for_release(other_member), make_corpus(member)
    client = api(maintainer)
    refused = client.post("/api/v1/releases/", {"version": "v1", "corpora": [chosen.pk, draft.pk]},
                          content_type="application/json")
    assert refused.status_code == 400
    assert error_of(refused)["field"] == "corpora" and str(draft.pk) in error_of(refused)["message"]
    created = client.post("/api/v1/releases/", {"version": "v1", "corpora": [chosen.pk]},
                          content_type="application/json")
    assert created.status_code == 201, created.content
    assert list(Release.objects.get(version="v1").entries.values_list("corpus_id", flat=True)) == [chosen.pk]
    assert left.pk not in Release.objects.get(version="v1").entries.values_list("corpus_id", flat=True)
