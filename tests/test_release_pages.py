"""Release pages: the list, a release's page (its card, notes, configs,
files and corpora), the Atom feed, downloads of restricted configs, credit,
and the record of what each release took in and kept."""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET

import pyarrow.parquet as pq
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import translation

from contributions import lifecycle, releases, review
from contributions.jobs import job_run
from contributions.models import (
    Corpus,
    CorpusStatus,
    Decision,
    JobStatus,
    Notification,
    OutgoingEmail,
    Release,
    ReleaseEntry,
    Review,
    TrainingVersion,
)

from .corpora import FRENCH, analysed, job_finished, jsonl, make_corpus
from .factories import MaintainerFactory, UserFactory

pytestmark = pytest.mark.django_db

ENGLISH = [
    "The library now offers reading workshops for children on Wednesday afternoons, free of charge for everyone.",
    "A new cycle lane will soon link the station to the town centre; work starts in spring and lasts six months.",
]
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
FR = {"HTTP_ACCEPT_LANGUAGE": "fr"}


@pytest.fixture
def maintainer(db):
    return MaintainerFactory()


def queued(user, maintainer, docs, *, exclude: list[int] = (), **metadata) -> Corpus:
    """A corpus analysed, with the documents ``exclude`` left out by the
    reviewer, approved and with its training-ready version built."""
    corpus, _run = analysed(user, [("a.jsonl", jsonl(*docs))], **metadata)
    for index in exclude:
        review.exclusion_add(corpus=corpus, reviewer=maintainer, kind="document", value=str(index))
    corpus = review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    job_finished("training", TrainingVersion.objects.get(corpus=corpus).id)
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.QUEUED_FOR_TRAINING
    return corpus


def build(maintainer, version="2026-12", **kwargs) -> Release:
    release = releases.release_create(actor=maintainer, version=version, **kwargs)
    job_finished("release", release.id)
    release.refresh_from_db()
    assert release.status == JobStatus.DONE, release.error
    return release


def stored_release(version: str, *, readme: str = "# x\n", public: bool = True, files: list[str] = (),
                   **fields) -> Release:
    """A built release written directly, its files in storage."""
    prefix = f"releases/{version}/attempt-1"
    paths = ["README.md", *files]
    default_storage.save(f"{prefix}/README.md", ContentFile(readme.encode()))
    for path in files:
        default_storage.save(f"{prefix}/{path}", ContentFile(b"PAR1"))
    return Release.objects.create(
        version=version, status=JobStatus.DONE, public=public, prefix=prefix,
        files=[{"path": p, "sha256": "0" * 64, "bytes": 4} for p in paths], **fields,
    )


# ---------------------------------------------------------------- what a release takes in and keeps


def test_a_release_filtered_by_license_leaves_the_other_corpora_as_they_were(member, maintainer):
    etalab = queued(member, maintainer, FRENCH)
    cc_by = queued(UserFactory(), maintainer, ENGLISH, license="CC-BY-4.0", languages=["en"])
    release = build(maintainer, licenses=["etalab-2.0"])
    assert list(release.entries.values_list("corpus_id", flat=True)) == [etalab.id]
    assert not ReleaseEntry.objects.filter(corpus=cc_by).exists()
    etalab.refresh_from_db()
    cc_by.refresh_from_db()
    assert etalab.status == CorpusStatus.RELEASED
    assert cc_by.status == CorpusStatus.QUEUED_FOR_TRAINING
    assert list(release.corpora.all()) == [etalab]


def test_entries_count_what_was_kept_excluded_deduplicated_and_masked(member, maintainer):
    email_doc = "Pour s'inscrire, écrire à jeanne@exemple.fr avant la fin du mois de septembre, merci."
    # d1 excluded by the reviewer, d3 masked, d4 an exact duplicate of d0
    # that the reviewers left in: the release drops it.
    first = queued(member, maintainer, [FRENCH[0], FRENCH[1], FRENCH[2], email_doc, FRENCH[0]], exclude=[1])
    # A duplicate of accepted data (left out of its training-ready version)
    # and one English document.
    second = queued(UserFactory(), maintainer, [FRENCH[2], ENGLISH[0]], languages=["fr", "en"])
    release = build(maintainer)
    entries = {e.corpus_id: e for e in release.entries.all()}
    figures = {k: (e.documents, e.excluded, e.duplicates, e.masked, e.filtered) for k, e in entries.items()}
    assert figures == {first.id: (3, 1, 1, 1, 0), second.id: (1, 0, 1, 0, 0)}
    assert entries[first.id].words == release.stats["corpora"][str(first.id)]["words"] > 0
    assert sum(e.documents for e in entries.values()) == release.stats["documents"] == 4


def test_a_language_filter_counts_as_filtered(member, maintainer):
    corpus = queued(member, maintainer, [*FRENCH, ENGLISH[0]], languages=["fr", "en"])
    release = build(maintainer, languages=["fr"])
    entry = release.entries.get(corpus=corpus)
    assert (entry.documents, entry.filtered) == (3, 1)


@pytest.mark.parametrize(
    ("rows", "languages", "expected"),
    [
        # The largest open French config, even when another is larger.
        ({"open-en": 900, "open-fr": 10, "restricted-fr": 5000}, ["en", "fr"], "open-fr"),
        ({"open-de": 1, "open-fr": 2, "open-fr-x": 1}, ["de", "fr"], "open-fr"),
        # One language: the configs are not split.
        ({"open": 5, "restricted": 9}, ["fr"], "open"),
        # No open French one: the largest open one.
        ({"open-en": 5, "open-de": 7, "restricted-fr": 9}, ["de", "en", "fr"], "open-de"),
        ({"open": 3}, ["en"], "open"),
        # Nothing open: the largest.
        ({"restricted-de": 1, "restricted-fr": 2}, ["de", "fr"], "restricted-fr"),
        ({}, [], ""),
    ],
)
def test_the_default_config_is_the_largest_open_french_one(rows, languages, expected):
    assert releases.default_config(rows, languages) == expected


def test_configs_carry_their_words_languages_and_family(member, maintainer):
    queued(member, maintainer, FRENCH)
    queued(UserFactory(), maintainer, ENGLISH, license="CC-BY-NC-4.0", languages=["en"])
    release = build(maintainer)
    configs = release.stats["configs"]
    assert set(configs) == {"open-fr", "restricted-en"}
    assert configs["open-fr"]["languages"] == ["fr"] and configs["open-fr"]["family"] == "open"
    assert configs["restricted-en"]["family"] == "restricted" and configs["restricted-en"]["documents"] == 2
    assert sum(c["words"] for c in configs.values()) == release.stats["words"]


# ---------------------------------------------------------------- credit and notifications


def test_cards_credit_public_profiles_by_name_and_the_others_by_pseudonym(client, maintainer, tmp_path):
    public = UserFactory(public_profile=True, display_name="Jeanne Martin")
    private = UserFactory(public_profile=False, display_name="Paul Secret")
    maintainer.public_profile, maintainer.display_name = False, "Maintainer Hidden"
    maintainer.save()
    queued(public, maintainer, FRENCH)
    queued(private, maintainer, ENGLISH, languages=["en"])
    release = build(maintainer, public=True)
    out = tmp_path / "out"
    releases.release_export(release=release, out=out)
    card = (out / "README.md").read_text()
    assert "| Jeanne Martin |" in card and f"| {private.pseudonym} |" in card
    assert "Paul Secret" not in card and "Maintainer Hidden" not in card and maintainer.pseudonym in card
    # The Parquet rows keep the stable pseudonym.
    submitters = set()
    for path in out.glob("data/*/*.parquet"):
        submitters |= set(pq.read_table(path, columns=["submitter"])["submitter"].to_pylist())
    assert submitters == {public.pseudonym, private.pseudonym}
    page = client.get(reverse("contributions:release_detail", args=[release.version]), **EN).content.decode()
    assert "Jeanne Martin" in page and private.pseudonym in page
    assert "Paul Secret" not in page and "Maintainer Hidden" not in page


def test_submitters_hear_of_the_release_in_the_site_and_by_email(member, maintainer):
    corpus = queued(member, maintainer, FRENCH)
    left_out = queued(UserFactory(), maintainer, ENGLISH, languages=["en"])
    OutgoingEmail.objects.all().delete()
    build(maintainer, languages=["fr"])
    notification = Notification.objects.get(kind=Notification.Kind.RELEASED)
    assert (notification.user, notification.corpus, notification.params["documents"]) == (member, corpus, 3)
    emails = list(OutgoingEmail.objects.all())
    assert [e.to for e in emails] == [member.email]
    assert "2026-12" in emails[0].subject
    # The corpus the language filter emptied is not in the release.
    assert not Notification.objects.filter(user=left_out.submitter, kind=Notification.Kind.RELEASED).exists()
    left_out.refresh_from_db()
    assert left_out.status == CorpusStatus.QUEUED_FOR_TRAINING


# ---------------------------------------------------------------- the release page


def test_the_release_page_shows_the_card_configs_files_snippet_and_corpora(client, member, maintainer):
    corpus = queued(member, maintainer, FRENCH)
    queued(UserFactory(), maintainer, ENGLISH, languages=["en"], license="CC-BY-4.0")
    release = build(maintainer, public=True)
    response = client.get(reverse("contributions:release_detail", args=[release.version]), **EN)
    page = response.content.decode()
    assert response.context["default_config"] == "open-fr"
    assert [c["name"] for c in response.context["configs"]] == ["open-en", "open-fr"]
    assert [(c["documents"], c["languages"]) for c in response.context["configs"]] == [(2, ["en"]), (3, ["fr"])]
    # The snippet names the default config and its file's absolute URL.
    shard = reverse("contributions:release_file", args=[release.version, "data/open-fr/train-00000.parquet"])
    assert f'"http://testserver{shard}"' in page
    assert f'load_dataset("openllm-{release.version}", "open-fr", split="train")' in page
    for entry in release.files:
        assert entry["sha256"] in page
    # The card: its YAML header as a table, its body rendered.
    card = response.context["card"]
    assert ("task_categories", "text-generation", False) in card["metadata"]
    assert "<h4>Provenance</h4>" in page and "<table>" in card["html"]
    assert f'href="/data/{corpus.id}/"' in page
    # No raw Markdown notes.
    assert "- Corpora added" not in page and "Corpora added: 2" not in page


def test_the_card_is_rendered_without_anything_hostile(client):
    hostile = (
        "---\nlicense: <script>alert(1)</script>\npretty_name: x\n---\n\n"
        "# Title\n\n<script>alert('card')</script>\n\n<img src=x onerror=alert(1)>\n\n"
        "[click](javascript:alert(1)) [again](JAVASCRIPT:alert(2)) <a href=\"javascript:alert(3)\">raw</a>\n\n"
        "[data](data:text/html;base64,PHNjcmlwdD4=) [fine](https://example.org/)\n\n"
        "<iframe src=\"https://evil.example\"></iframe>\n"
    )
    stored_release("hostile", readme=hostile)
    response = client.get(reverse("contributions:release_detail", args=["hostile"]), **EN)
    card = response.context["card"]
    html = card["html"]
    assert "<script" not in html and "<img" not in html and "<iframe" not in html
    # Every link left goes to the web; the rest stays visible as text.
    assert re.findall(r'<a\s[^>]*href="([^"]*)"', html) == ["https://example.org/"]
    assert re.findall(r"<(\w+)", html) == ["h3", "p", "p", "p", "p", "a", "p"]
    assert '<a href="https://example.org/" rel="nofollow noopener">fine</a>' in html
    page = response.content.decode()
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the header, escaped
    assert ("license", "<script>alert(1)</script>", False) in card["metadata"]


def test_the_card_rendering_is_kept_for_the_release(client, monkeypatch):
    stored_release("kept", readme="# First\n")
    url = reverse("contributions:release_detail", args=["kept"])
    assert "<h3>First</h3>" in client.get(url).content.decode()
    calls = []
    monkeypatch.setattr(releases, "markdown_render", lambda **kw: calls.append(kw) or "")
    assert "<h3>First</h3>" in client.get(url).content.decode()
    assert calls == []


def test_a_card_too_large_is_cut(client):
    stored_release("large", readme="# Big\n\n" + "word " * (releases.CARD_MAX_BYTES // 4))
    response = client.get(reverse("contributions:release_detail", args=["large"]), **EN)
    assert response.context["card"]["truncated"]
    assert len(response.context["card"]["html"]) < releases.CARD_MAX_BYTES * 2


def test_release_notes_are_put_into_the_readers_language(client, member, maintainer):
    queued(member, maintainer, FRENCH)
    build(maintainer, version="r1", public=True)
    queued(UserFactory(), maintainer, ENGLISH, languages=["en"], license="CC-BY-4.0")
    second = build(maintainer, version="r2", public=True)
    notes = second.stats["notes"]
    assert notes["previous"] == "r1" and notes["documents_added"] == 2 and len(notes["corpora_added"]) == 1
    assert [row["license"] for row in notes["words_by_license"]] == ["CC-BY-4.0", "etalab-2.0"]
    assert notes["words_by_license"][1]["change"] == 0
    url = reverse("contributions:release_detail", args=["r2"])
    english = client.get(url, **EN).content.decode()
    assert "Compared with the release r1:" in english and "1 corpus added" in english
    assert "2 documents added" in english and "0 documents left out on request" in english
    french = client.get(url, **FR).content.decode()
    assert "Par rapport à la version r1" in french and "1 corpus ajouté" in french
    assert "2 documents ajoutés" in french and "Compared with" not in french
    # The legacy text stays English, for exports.
    assert "Previous release: r1" in second.notes


# ---------------------------------------------------------------- downloads of restricted configs


def test_anonymous_visitors_cannot_download_restricted_files(client, member):
    stored_release("mixed", files=["data/open-fr/train-00000.parquet", "data/restricted-fr/train-00000.parquet"])
    restricted = reverse("contributions:release_file", args=["mixed", "data/restricted-fr/train-00000.parquet"])
    opened = reverse("contributions:release_file", args=["mixed", "data/open-fr/train-00000.parquet"])
    response = client.get(restricted)
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))
    assert client.get(opened).status_code == 200
    page = client.get(reverse("contributions:release_detail", args=["mixed"]), **EN).content.decode()
    assert f'href="{restricted}"' not in page and "sign in to download" in page
    assert f'href="{opened}"' in page
    client.force_login(member)
    assert client.get(restricted).status_code == 200
    page = client.get(reverse("contributions:release_detail", args=["mixed"]), **EN).content.decode()
    assert f'href="{restricted}"' in page


# ---------------------------------------------------------------- feed and list


def test_the_feed_lists_only_public_built_releases(client, maintainer):
    stored_release("open-one")
    stored_release("private-one", public=False)
    Release.objects.create(version="building", public=True, status=JobStatus.RUNNING)
    Release.objects.create(version="broken", public=True, status=JobStatus.FAILED)
    response = client.get(reverse("contributions:release_feed"), **EN)
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    ns = {"atom": "http://www.w3.org/2005/Atom"}
    feed = ET.fromstring(response.content)
    entries = feed.findall("atom:entry", ns)
    titles = [e.findtext("atom:title", namespaces=ns) for e in entries]
    assert titles == ["open-one"]
    assert feed.findtext("atom:author/atom:name", namespaces=ns)  # required by RFC 4287
    listing = client.get(reverse("contributions:release_list")).content.decode()
    assert 'type="application/atom+xml"' in listing and reverse("contributions:release_feed") in listing


def _releases_with_entries(count: int, corpora: list[Corpus]) -> None:
    for n in range(count):
        release = stored_release(f"v{n}")
        ReleaseEntry.objects.bulk_create(
            ReleaseEntry(release=release, corpus=corpus, documents=10 + i, words=100) for i, corpus in
            enumerate(corpora)
        )


def test_the_list_shows_totals_from_the_entries(client, member):
    corpora = [make_corpus(member) for _ in range(3)]
    _releases_with_entries(1, corpora)
    ReleaseEntry.objects.filter(corpus=corpora[2]).update(documents=0, words=0)
    response = client.get(reverse("contributions:release_list"))
    totals = response.context["rows"][0]["totals"]
    assert (totals.corpora, totals.documents, totals.words) == (2, 21, 200)


@pytest.mark.parametrize("size", [3, 30])
def test_the_list_does_a_bounded_number_of_queries(client, member, maintainer, size, django_assert_max_num_queries):
    corpora = [make_corpus(member) for _ in range(3)]
    _releases_with_entries(size, corpora)
    for user in (None, maintainer):
        if user:
            client.force_login(user)
            client.get(reverse("contributions:home"))  # the session's first request records the agreement
        with django_assert_max_num_queries(8):
            response = client.get(reverse("contributions:release_list"))
        assert response.status_code == 200
    with django_assert_max_num_queries(8):
        assert client.get(reverse("contributions:release_feed")).status_code == 200


@pytest.mark.parametrize("size", [3, 30])
def test_the_release_page_does_a_bounded_number_of_queries(client, size, django_assert_max_num_queries):
    corpora = [make_corpus(UserFactory(public_profile=True)) for _ in range(size)]
    Corpus.objects.filter(pk__in=[c.pk for c in corpora]).update(status=CorpusStatus.RELEASED)
    release = stored_release(
        "big", stats={"documents": 10 * size, "words": 100, "languages": ["fr"], "configs": {
            "open": {"documents": 10 * size, "files": 1, "words": 100, "languages": ["fr"], "family": "open"}},
            "corpora": {str(c.pk): {"documents": 10} for c in corpora}},
        files=["data/open/train-00000.parquet"],
    )
    reviewer = MaintainerFactory(public_profile=True, display_name="Relectrice Publique")
    versions = TrainingVersion.objects.bulk_create(
        TrainingVersion(corpus=c, corpus_version=1, status=JobStatus.DONE) for c in corpora
    )
    Review.objects.bulk_create(
        Review(corpus=c, corpus_version=1, reviewer=reviewer, decision=Decision.APPROVE) for c in corpora
    )
    ReleaseEntry.objects.bulk_create(
        ReleaseEntry(release=release, corpus=c, training_version=v, documents=10) for c, v in zip(corpora, versions)
    )
    url = reverse("contributions:release_detail", args=["big"])
    # The release with the number of published corpora (the cache key),
    # the release with its statistics' small parts, the entries' count, the
    # entries and their reviewers.
    with django_assert_max_num_queries(5):
        response = client.get(url, **EN)
    assert len(response.context["rows"]) == size
    page = response.content.decode()
    assert corpora[0].title in page and page.count("Relectrice Publique") == size


# ---------------------------------------------------------------- in a browser


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("width", [390, 1280])
def test_the_release_page_fits_the_screen(browser, live_server, width, tmp_path):
    maintainer = MaintainerFactory()
    queued(UserFactory(public_profile=True, display_name="Jeanne Martin"), maintainer, FRENCH)
    queued(UserFactory(), maintainer, ENGLISH, languages=["en"], license="CC-BY-NC-4.0")
    release = build(maintainer, public=True)
    context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport={"width": width, "height": 900})
    try:
        page = context.new_page()
        for url in [reverse("contributions:release_detail", args=[release.version]),
                    reverse("contributions:release_list")]:
            page.goto(url)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, url
        page.goto(reverse("contributions:release_detail", args=[release.version]))
        page.screenshot(path=str(tmp_path / f"release-{width}.png"), full_page=True)
        if os.environ.get("RELEASE_SCREENSHOTS"):
            height = page.evaluate("document.documentElement.scrollHeight")
            for n, y in enumerate(range(0, height, 1000)):
                page.screenshot(path=f"{os.environ['RELEASE_SCREENSHOTS']}/release-{width}-{n}.png", full_page=True,
                                clip={"x": 0, "y": y, "width": width, "height": min(1000, height - y)})
    finally:
        context.close()


def test_feed_is_not_a_version_name(member, maintainer):
    from django.core.exceptions import ValidationError

    queued(member, maintainer, FRENCH)
    with translation.override("en"), pytest.raises(ValidationError, match="names a page"):
        releases.release_create(actor=maintainer, version="feed")


def test_build_progress_updates_in_place_for_maintainers(client, member, maintainer):
    queued(member, maintainer, FRENCH)
    release = releases.release_create(actor=maintainer, version="r1")
    Release.objects.filter(pk=release.pk).update(status=JobStatus.RUNNING, progress_done=1, progress_total=4)
    client.force_login(maintainer)
    page = client.get(reverse("contributions:release_detail", args=["r1"]), **EN).content.decode()
    assert 'data-live="/releases/r1/live/"' in page and 'value="25"' in page
    data = client.get(reverse("contributions:release_live", args=["r1"]), **EN).json()
    assert data["active"] is True and 'value="25"' in data["parts"]["release-build"]
    Release.objects.filter(pk=release.pk).update(status=JobStatus.QUEUED)
    job_run("release", release.id)
    data = client.get(reverse("contributions:release_live", args=["r1"]), **EN).json()
    assert data["active"] is False and "The release is built." in data["parts"]["release-build"]


def test_a_corpus_unpublished_since_is_named_by_its_number_only(client, member):
    corpus = make_corpus(member, title="Titre retiré depuis")
    Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.WITHDRAWN)
    release = stored_release("old")
    ReleaseEntry.objects.create(release=release, corpus=corpus, documents=3)
    page = client.get(reverse("contributions:release_detail", args=["old"]), **EN).content.decode()
    assert f"Corpus {corpus.pk} (no longer published)" in page
    assert "Titre retiré depuis" not in page and member.pseudonym not in page


def test_many_files_are_listed_page_by_page(client):
    shards = [f"data/open/train-{n:05d}.parquet" for n in range(150)]
    Release.objects.create(
        version="huge", status=JobStatus.DONE, public=True, prefix="releases/huge/attempt-1",
        files=[{"path": p, "sha256": f"{n:064x}", "bytes": 1} for n, p in enumerate(shards)],
        stats={"configs": {"open": {"documents": 1, "files": 150}}, "languages": ["fr"]},
    )
    url = reverse("contributions:release_detail", args=["huge"])
    first = client.get(url, **EN)
    assert len(first.context["files"]) == 100 and f"{99:064x}" in first.content.decode()
    second = client.get(url, {"files": 2}, **EN)
    assert [f["path"] for f in second.context["files"]] == shards[100:]
    # The snippet names a few files and says how many more there are.
    assert len(second.context["snippet_files"]) == 5 and second.context["snippet_more"] == 145
    assert client.get(url, {"files": "x'"}, **EN).status_code == 200


# ---------------------------------------------------------------- cached renderings


def test_a_new_public_release_is_listed_at_once(client, maintainer):
    stored_release("first-one")
    url = reverse("contributions:release_list")
    assert "first-one" in client.get(url, **EN).content.decode()
    stored_release("second-one")
    stored_release("hidden-one", public=False)
    listing = client.get(url, **EN).content.decode()
    assert "second-one" in listing and "hidden-one" not in listing
    Release.objects.filter(version="first-one").update(public=False)
    assert "first-one" not in client.get(url, **EN).content.decode()


def test_the_cached_list_is_per_language_and_never_shows_maintainer_columns(client, maintainer):
    stored_release("open-one")
    stored_release("private-one", public=False)
    url = reverse("contributions:release_list")
    client.force_login(maintainer)
    assert "private-one" in client.get(url, **EN).content.decode()
    client.logout()
    english = client.get(url, **EN).content.decode()
    assert "private-one" not in english and "Status" not in english and ">Words<" in english
    assert ">Mots<" in client.get(url, **FR).content.decode()
    # One rendering per page asked, whatever else the address carries.
    assert client.get(url, {"page": "x'", "utm": "a"}, **EN).status_code == 200


def test_the_cached_release_page_follows_the_visitor_and_the_corpora(client, member):
    corpus = make_corpus(member, title="Titre encore publié")
    Corpus.objects.filter(pk=corpus.pk).update(status=CorpusStatus.RELEASED)
    stored_release("mixed", files=["data/open-fr/train-00000.parquet", "data/restricted-fr/train-00000.parquet"])
    ReleaseEntry.objects.create(release=Release.objects.get(version="mixed"), corpus=corpus, documents=3)
    url = reverse("contributions:release_detail", args=["mixed"])
    restricted = reverse("contributions:release_file", args=["mixed", "data/restricted-fr/train-00000.parquet"])
    # A member's rendering first: the next anonymous visitor still gets
    # the sign-in message, not the member's download link.
    client.force_login(member)
    assert f'href="{restricted}"' in client.get(url, **EN).content.decode()
    client.logout()
    page = client.get(url, **EN).content.decode()
    assert f'href="{restricted}"' not in page and "sign in to download" in page
    assert "Titre encore publié" in page and "export_release" not in page
    # A corpus unpublished since shows by its number at once.
    lifecycle.corpus_transition(corpus_id=corpus.pk, to=CorpusStatus.WITHDRAWN, actor=MaintainerFactory(),
                                comment="Unpublished after a report.", reason="")
    page = client.get(url, **EN).content.decode()
    assert "Titre encore publié" not in page and f"Corpus {corpus.pk} (no longer published)" in page
    # And the page in the other language is rendered in it.
    assert 'id="files-title">Fichiers<' in client.get(url, **FR).content.decode()


def test_a_cached_release_page_reads_no_entry(client, member, django_assert_max_num_queries):
    corpus = make_corpus(member)
    stored_release("quiet", files=["data/open-fr/train-00000.parquet"])
    ReleaseEntry.objects.create(release=Release.objects.get(version="quiet"), corpus=corpus, documents=3)
    url = reverse("contributions:release_detail", args=["quiet"])
    client.get(url, **EN)
    # The release with the number of published corpora: nothing else.
    with django_assert_max_num_queries(1):
        assert client.get(url, **EN).status_code == 200
