"""The demo site of `make run` and the list of its pages, for the tests
that go through every page (in the browser, or with Django's test client)."""

from __future__ import annotations

from .factories import MaintainerFactory, ReviewerFactory, UserFactory


def demo_site() -> dict:
    """The demo data of `make run`, through the real pipeline: a member's
    corpora (two released in the public release demo-1, one awaiting
    review), a reviewer and a maintainer, and one of everything else a page
    can show."""
    from django.core.mail import EmailMessage

    from contributions import demo, emails, removals
    from contributions.models import AbuseReport, JobStatus, OutgoingEmail, Release, RemovalRequest

    member = UserFactory(public_profile=True, display_name="Margot Membre")
    reviewer, maintainer = ReviewerFactory(), MaintainerFactory()
    demo.demo_data_create(member=member, reviewer=reviewer, maintainer=maintainer)
    release = Release.objects.get(version="demo-1")
    assert release.status == JobStatus.DONE, release.error
    [mail] = emails.email_queue(message=EmailMessage("Bienvenue", "x", "site@example.org", ["x@example.org"]))
    OutgoingEmail.objects.filter(pk=mail.pk).update(status=JobStatus.FAILED, error="perdu")
    removal = RemovalRequest.objects.create(kind="copyright", contact="a@example.org", phrase="x")
    report = AbuseReport.objects.create(corpus=member.corpora.order_by("id").first(), reason="copyright")
    return {
        "member": member, "reviewer": reviewer, "maintainer": maintainer, "release": release, "mail": mail,
        "removal": removal, "token": removals.removal_token(removal), "report": report,
    }


def release_row_id(release, config: str) -> str:
    import pyarrow.parquet as pq
    from django.core.files.storage import default_storage

    path = next(f["path"] for f in release.files if f["path"].startswith(f"data/{config}/"))
    with default_storage.open(f"{release.prefix}/{path}", "rb") as handle:
        return pq.read_table(handle, columns=["id"]).column("id")[0].as_py()


def site_pages(site) -> list[str]:
    """Every page of the site's own URLs, with the demo objects in them
    (what a role may not open is sorted out by asking, in the test)."""
    from django.urls import URLPattern, URLResolver, get_resolver, reverse

    from contributions import tokens
    from contributions.models import CorpusStatus

    member, release = site["member"], site["release"]
    configs = sorted(release.stats.get("configs", {}))
    corpora = list(member.corpora.order_by("id"))
    released = next(c for c in corpora if c.status == CorpusStatus.RELEASED)
    waiting = next(c for c in corpora if c.status == CorpusStatus.AWAITING_REVIEW)
    values = {
        "pseudonym": member.pseudonym, "user_id": member.pk, "report_id": site["report"].pk,
        "request_id": site["removal"].pk, "token": site["token"], "kind": "email", "job_id": site["mail"].pk,
        "version": release.version, "path": "README.md", "config": configs[0], "doc_index": 0,
        "row_id": release_row_id(release, configs[0]),
        "token_id": tokens.token_create(user=member, name="script", days=30)[0].pk,
    }

    def patterns(found, namespace=""):
        for pattern in found:
            if isinstance(pattern, URLResolver) and pattern.namespace == "contributions":
                yield from patterns(pattern.url_patterns, "contributions:")
            elif isinstance(pattern, URLPattern) and namespace:
                yield namespace + pattern.name, list(pattern.pattern.converters)

    urls = []
    for name, params in patterns(get_resolver().url_patterns):
        for corpus in ([released, waiting] if "pk" in params else [None]):
            kwargs = {key: values[key] for key in params if key in values}
            if corpus is not None:
                kwargs["pk"] = corpus.pk
                if "file_id" in params:
                    kwargs["file_id"] = corpus.files.first().pk
            urls.append(reverse(name, kwargs=kwargs))
    return urls + [
        "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/", "/accounts/password/change/",
        "/accounts/email/", "/accounts/logout/",
    ]
