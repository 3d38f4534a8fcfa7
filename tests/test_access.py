"""Who may do what: every URL of the site, every method, every role.

Later features add their URLs to MATRIX; test_every_url_is_in_the_matrix
fails until they do.
"""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from contributions import removals, tokens
from contributions.models import AbuseReport, Corpus, CorpusStatus, JobStatus, OutgoingEmail, Release, RemovalRequest

from .corpora import FRENCH, add_file, analysed, make_corpus
from .factories import MaintainerFactory, ReviewerFactory, UserFactory

pytestmark = pytest.mark.django_db

ROLES = ["anonymous", "owner", "member", "reviewer", "maintainer"]
METHODS = ["get", "post", "put", "patch", "delete"]
LOGIN = 302  # anonymous visitors are sent to the login page
NO = 405


def row(get, post=NO, put=NO, patch=NO, delete=NO):
    return dict(zip(METHODS, [get, post, put, patch, delete], strict=True))


def same(status):
    return dict.fromkeys(ROLES, status)


READERS = {"anonymous": LOGIN, "owner": 200, "member": 404, "reviewer": 200, "maintainer": 200}


def OWNER_ONLY(status):  # noqa: N802 - reads as a constant in the table
    return {"anonymous": LOGIN, "owner": status, "member": 404, "reviewer": 404, "maintainer": 404}


def REVIEWERS(status):  # noqa: N802
    return {"anonymous": LOGIN, "owner": 403, "member": 403, "reviewer": status, "maintainer": status}


def MAINTAINERS(status):  # noqa: N802
    return {"anonymous": LOGIN, "owner": 403, "member": 403, "reviewer": 403, "maintainer": status}


# URL name -> {method: {role: expected status}}. "owner" is the member who
# owns the object in the URL (objects take the owner's pk or pseudonym).
MATRIX = {
    "contributions:home": row(get=same(200), post=same(NO)),
    "contributions:agreement": row(get=same(200), post=same(302)),
    "contributions:profile": row(get={**same(200), "anonymous": LOGIN}, post={**same(302), "anonymous": LOGIN}),
    "contributions:profile_export": row(get={**same(200), "anonymous": LOGIN}),
    # An empty POST does not confirm, so nothing is deleted here.
    "contributions:profile_delete": row(get={**same(200), "anonymous": LOGIN}, post={**same(200), "anonymous": LOGIN}),
    # Each member's own API tokens; an empty POST makes none.
    "contributions:api_tokens": row(get={**same(200), "anonymous": LOGIN}, post={**same(200), "anonymous": LOGIN}),
    "contributions:api_token_revoke": row(get=same(NO), post=OWNER_ONLY(302)),
    # A private profile: only its owner sees it; to others it does not exist.
    "contributions:person": row(get={**same(404), "owner": 200}),
    "contributions:roles": row(
        get={"anonymous": LOGIN, "owner": 403, "member": 403, "reviewer": 403, "maintainer": 200}
    ),
    "contributions:role_update": row(
        get=same(NO),
        post={"anonymous": LOGIN, "owner": 403, "member": 403, "reviewer": 403, "maintainer": 302},
    ),
    # Corpora: the owner's; reviewers and maintainers read any of them, only
    # the submitter changes one. To everyone else a corpus does not exist.
    "contributions:corpus_list": row(get={**same(200), "anonymous": LOGIN}),
    "contributions:corpus_new": row(get={**same(200), "anonymous": LOGIN}, post={**same(200), "anonymous": LOGIN}),
    "contributions:corpus_detail": row(get=READERS),
    "contributions:corpus_edit": row(get=OWNER_ONLY(200), post=OWNER_ONLY(200)),
    "contributions:corpus_upload": row(get=same(NO), post=OWNER_ONLY(302)),
    "contributions:corpus_file_delete": row(get=same(NO), post=OWNER_ONLY(302)),
    "contributions:corpus_file_download": row(get=READERS),
    "contributions:corpus_submit": row(get=same(NO), post=OWNER_ONLY(302)),
    "contributions:corpus_withdraw": row(get=same(NO), post=OWNER_ONLY(302)),
    "contributions:corpus_progress": row(get=READERS),
    "contributions:comment_post": row(
        get=same(NO), post={"anonymous": LOGIN, "owner": 302, "member": 404, "reviewer": 302, "maintainer": 302}
    ),
    # Review: reviewers and maintainers, never on their own corpora.
    "contributions:review_queue": row(get=REVIEWERS(200)),
    "contributions:review_corpus": row(get=REVIEWERS(200)),
    "contributions:review_document": row(get=REVIEWERS(200)),
    "contributions:review_changes": row(get=REVIEWERS(200)),
    "contributions:review_decide": row(get=same(NO), post=REVIEWERS(302)),
    "contributions:review_exclude": row(get=same(NO), post=REVIEWERS(302)),
    "contributions:review_exclude_bulk": row(get=same(NO), post=REVIEWERS(302)),
    "contributions:review_claim": row(get=same(NO), post=REVIEWERS(302)),
    "contributions:review_live": row(get=REVIEWERS(200)),
    # Reviewers read the guidelines; maintainers publish them (an empty POST gives the form back).
    "contributions:review_guidelines": row(get=REVIEWERS(200), post={**REVIEWERS(403), "maintainer": 200}),
    # Accepted data is public; reporting needs an account.
    "contributions:data_list": row(get=same(200)),
    "contributions:data_detail": row(get=same(200)),
    "contributions:contributors": row(get=same(200)),
    "contributions:data_report": row(get=same(NO), post={**same(302), "anonymous": LOGIN}),
    "contributions:reports_queue": row(get=MAINTAINERS(200)),
    "contributions:report_resolve": row(get=same(NO), post=MAINTAINERS(302)),
    # An empty POST does not confirm: the form comes back.
    "contributions:member_suspend": row(get=MAINTAINERS(200), post=MAINTAINERS(200)),
    "contributions:member_reinstate": row(get=same(NO), post=MAINTAINERS(302)),
    "contributions:reviewer_stats": row(get=MAINTAINERS(200)),
    # Releases: built ones are listed for everyone once public; this one is not.
    "contributions:training_queue": row(get=MAINTAINERS(200), post=MAINTAINERS(200)),
    "contributions:release_list": row(get=same(200)),
    "contributions:release_detail": row(get={**same(404), "maintainer": 200}),
    "contributions:release_file": row(get={**same(404), "maintainer": 200}),
    "contributions:release_live": row(get={**same(404), "maintainer": 200}),
    # The Atom feed of public, built releases.
    "contributions:release_feed": row(get=same(200)),
    # The explorer of a private release and of an unpublished corpus: maintainers only.
    "contributions:explore_release_default": row(get={**same(404), "maintainer": 302}),
    "contributions:explore_release": row(get={**same(404), "maintainer": 200}),
    "contributions:explore_release_row": row(get={**same(404), "maintainer": 200}),
    "contributions:explore_corpus": row(get={**same(404), "maintainer": 200}),
    "contributions:explore_corpus_row": row(get={**same(404), "maintainer": 200}),
    "contributions:removal_new": row(get=same(200), post=same(200)),
    # Whoever holds the link sent to the requester's address.
    "contributions:removal_status": row(get=same(200), post=same(302)),
    "contributions:removal_status_live": row(get=same(200)),
    "contributions:removal_queue": row(get=MAINTAINERS(200)),
    "contributions:removal_decide": row(get=same(NO), post=MAINTAINERS(302)),
    "contributions:notifications": row(get={**same(200), "anonymous": LOGIN}, post={**same(302), "anonymous": LOGIN}),
    "contributions:operations": row(get=MAINTAINERS(200)),
    "contributions:operations_live": row(get=MAINTAINERS(200)),
    # A member's own dashboard, and the live parts that follow it.
    "contributions:dashboard": row(get={**same(200), "anonymous": LOGIN}),
    "contributions:dashboard_live": row(get={**same(200), "anonymous": LOGIN}),
    "contributions:notifications_live": row(get={**same(200), "anonymous": LOGIN}),
    "contributions:job_retry": row(get=same(NO), post=MAINTAINERS(302)),
    "contributions:job_cancel": row(get=same(NO), post=MAINTAINERS(302)),
    # Statistics are public open data.
    "contributions:stats": row(get=same(200)),
    "contributions:stats_json": row(get=same(200)),
}


# Pages open to anonymous visitors whose POST redirects elsewhere than the login page.
PUBLIC_REDIRECTS = {("contributions:removal_status", "post")}

CORPUS_URLS = {
    "contributions:corpus_detail",
    "contributions:corpus_edit",
    "contributions:corpus_upload",
    "contributions:corpus_file_delete",
    "contributions:corpus_file_download",
    "contributions:corpus_submit",
    "contributions:corpus_withdraw",
    "contributions:corpus_progress",
    "contributions:comment_post",
    "contributions:review_corpus",
    "contributions:review_changes",
    "contributions:review_decide",
    "contributions:review_exclude",
    "contributions:review_exclude_bulk",
    "contributions:review_claim",
    "contributions:review_live",
    "contributions:data_detail",
    "contributions:data_report",
}


def url_for(name: str, owner) -> str:
    """The URL, with objects that belong to ``owner`` where it takes one."""
    if name.startswith("contributions:explore_"):
        return _explorer_url(name, owner)
    if name == "contributions:review_document":
        corpus, _run = analysed(owner, [("a.txt", FRENCH[0])])
        return reverse(name, kwargs={"pk": corpus.pk, "doc_index": 0})
    if name in CORPUS_URLS:
        corpus = make_corpus(owner)
        stored = add_file(corpus, "a.txt", FRENCH[0])
        if name.startswith("contributions:data_"):
            Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.APPROVED)
        kwargs = {"pk": corpus.pk}
        if "file" in name:
            kwargs["file_id"] = stored.pk
        return reverse(name, kwargs=kwargs)
    if name in {"contributions:release_detail", "contributions:release_file", "contributions:release_live"}:
        release = Release.objects.create(
            version="private",
            status="done",
            prefix="releases/private/attempt-1",
            files=[{"path": "README.md", "sha256": "", "bytes": 2}],
        )
        default_storage.save("releases/private/attempt-1/README.md", ContentFile(b"# x"))
        kwargs = {"version": release.version}
        if name == "contributions:release_file":
            kwargs["path"] = "README.md"
        return reverse(name, kwargs=kwargs)
    if name == "contributions:api_token_revoke":
        token, _key = tokens.token_create(user=owner, name="script", days=30)
        return reverse(name, kwargs={"token_id": token.pk})
    if name == "contributions:removal_decide":
        removal = RemovalRequest.objects.create(kind="copyright", contact="a@example.org", phrase="x")
        return reverse(name, kwargs={"request_id": removal.pk})
    if name in {"contributions:removal_status", "contributions:removal_status_live"}:
        removal = RemovalRequest.objects.create(kind="copyright", contact="a@example.org", phrase="x")
        return reverse(name, kwargs={"token": removals.removal_token(removal)})
    if name in {"contributions:job_retry", "contributions:job_cancel"}:
        email = OutgoingEmail.objects.create(to="a@example.org", subject="x", body_text="x", from_email="s@example.org",
                                             status=JobStatus.FAILED)
        return reverse(name, kwargs={"kind": "email", "job_id": email.pk})
    if name == "contributions:report_resolve":
        report = AbuseReport.objects.create(corpus=make_corpus(owner), reason="copyright")
        return reverse(name, kwargs={"report_id": report.pk})
    kwargs = {
        "contributions:person": {"pseudonym": owner.pseudonym},
        "contributions:role_update": {"user_id": owner.pk},
        "contributions:member_suspend": {"user_id": owner.pk},
        "contributions:member_reinstate": {"user_id": owner.pk},
    }.get(name, {})
    return reverse(name, kwargs=kwargs)


def _explorer_url(name: str, owner) -> str:
    """A private release and an unpublished corpus, each with one stored row."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from contributions import releases, training
    from contributions.models import TrainingVersion

    def stored(path: str, schema, row: dict) -> str:
        buffer = io.BytesIO()
        pq.write_table(pa.Table.from_pylist([row], schema=schema), buffer)
        return default_storage.save(path, ContentFile(buffer.getvalue()))

    if name.startswith("contributions:explore_release"):
        stored("releases/private/attempt-1/data/open/train-00000.parquet", releases.SCHEMA,
               {"id": "c1-v1-d0", "text": "Bonjour.", "corpus_id": 1, "license": "etalab-2.0", "language": "fr",
                "chars": 8, "words": 1, "quality_flags": [], "reviewers": []})
        release = Release.objects.create(
            version="private", status="done", prefix="releases/private/attempt-1",
            files=[{"path": "data/open/train-00000.parquet", "sha256": "", "bytes": 1}],
            stats={"configs": {"open": {"documents": 1, "files": 1}}, "languages": ["fr"]},
        )
        kwargs = {"version": release.version, "config": "open", "row_id": "c1-v1-d0"}
        keep = {"contributions:explore_release_default": 1, "contributions:explore_release": 2}.get(name, 3)
        return reverse(name, kwargs=dict(list(kwargs.items())[:keep]))
    corpus = make_corpus(owner)  # a draft: not published
    shard = stored(f"training/{corpus.pk}/shard-00000.parquet", training.TRAINING_SCHEMA,
                   {"doc_index": 0, "text": "Bonjour.", "language": "fr", "chars": 8, "words": 1, "flags": []})
    TrainingVersion.objects.create(corpus=corpus, corpus_version=corpus.version, status="done", shards=[shard])
    kwargs = {"pk": corpus.pk, **({"doc_index": 0} if name.endswith("_row") else {})}
    return reverse(name, kwargs=kwargs)


def _cases():
    for name, methods in MATRIX.items():
        for method, expected in methods.items():
            for role in ROLES:
                status = expected[role] if isinstance(expected, dict) else expected
                yield pytest.param(name, method, role, status, id=f"{name}-{method}-{role}")


@pytest.mark.parametrize(("name", "method", "role", "status"), list(_cases()))
def test_access(name, method, role, status):
    owner = UserFactory(public_profile=False)
    users = {
        "anonymous": None,
        "owner": owner,
        "member": UserFactory(),
        "reviewer": ReviewerFactory(),
        "maintainer": MaintainerFactory(),
    }
    client = Client()
    if users[role]:
        client.force_login(users[role])
    response = getattr(client, method)(url_for(name, owner))
    assert response.status_code == status
    if status == LOGIN and role == "anonymous" and (name, method) not in PUBLIC_REDIRECTS:
        assert response["Location"].startswith(reverse("account_login"))


def _names(patterns, namespace=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            if pattern.namespace == "contributions":
                yield from _names(pattern.url_patterns, "contributions:")
        elif isinstance(pattern, URLPattern) and namespace:
            yield namespace + pattern.name


def test_every_url_is_in_the_matrix():
    assert set(_names(get_resolver().url_patterns)) == set(MATRIX)


@pytest.mark.parametrize(
    ("url", "role", "status"),
    [
        ("/admin/", "anonymous", 302),
        ("/admin/", "member", 302),
        ("/admin/", "reviewer", 302),
        ("/admin/", "maintainer", 200),
        ("/admin/contributions/user/", "reviewer", 302),
        ("/admin/contributions/user/", "maintainer", 200),
    ],
)
def test_admin_access(url, role, status):
    users = {"member": UserFactory, "reviewer": ReviewerFactory, "maintainer": MaintainerFactory}
    client = Client()
    if role in users:
        client.force_login(users[role]())
    assert client.get(url).status_code == status


@pytest.mark.parametrize(
    ("name", "data"),
    [
        ("contributions:profile", {"display_name": "x"}),
        ("contributions:agreement", {}),
        ("contributions:profile_delete", {"confirm": "on"}),
        ("account_logout", {}),
        ("account_change_password", {}),
    ],
)
def test_state_changing_requests_without_csrf_token_are_refused(name, data):
    user = UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    response = client.post(reverse(name), data)
    assert response.status_code == 403
    user.refresh_from_db()  # still there: the delete did not happen


def test_role_change_without_csrf_token_is_refused():
    maintainer, member = MaintainerFactory(), UserFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(maintainer)
    response = client.post(reverse("contributions:role_update", args=[member.pk]), {"role": "reviewer"})
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.role == "member"


def test_signup_without_csrf_token_is_refused():
    response = Client(enforce_csrf_checks=True).post(reverse("account_signup"), {"email": "a@example.org"})
    assert response.status_code == 403
