"""The public pages: the catalogue of accepted corpora, a corpus's page
written as a dataset card, the contributors and their profiles."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation

from contributions import catalogue, lifecycle, releases, review
from contributions.jobs import job_run
from contributions.models import (
    Corpus,
    CorpusLanguage,
    CorpusStatus,
    Decision,
    JobStatus,
    Release,
    ReleaseEntry,
    Review,
    TrainingVersion,
)

from .corpora import FRENCH, analysed, jsonl, make_corpus
from .factories import MaintainerFactory, ReviewerFactory, UserFactory, signed_in

pytestmark = pytest.mark.django_db

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


def published(user, title, *, status=CorpusStatus.APPROVED, languages=(("fr", 1),), days_ago=0, **fields):
    """A corpus row as the analysis and the review leave it, without files."""
    corpus = make_corpus(user, title=title, description=fields.pop("description", f"About {title}."),
                         **{k: v for k, v in fields.items() if k in {"license", "domain"}})
    Corpus.objects.filter(pk=corpus.pk).update(
        status=status, submitted_at=timezone.now() - timezone.timedelta(days=days_ago),
        **{k: v for k, v in fields.items() if k not in {"license", "domain"}},
    )
    CorpusLanguage.objects.bulk_create(
        CorpusLanguage(corpus=corpus, language=code, documents=count) for code, count in languages
    )
    corpus.refresh_from_db()
    return corpus


def titles(response) -> list[str]:
    """The corpora listed, in order (read from the page: the results may come from the cache)."""
    return re.findall(r'<td><a href="/data/\d+/">([^<]*)</a>', response.content.decode())


@pytest.fixture
def known(member):
    """Four accepted corpora with known facts, and private ones around them."""
    made = {
        "A": published(member, "Presse régionale", license="CC-BY-4.0", domain="news", period_start=1990,
                       period_end=2000, documents=500, words=100_000, languages=[("fr", 400), ("en", 100)],
                       days_ago=3),
        "B": published(member, "Lois consolidées", license="etalab-2.0", domain="legal", period_start=2010,
                       period_end=2020, documents=5_000, words=2_000_000, status=CorpusStatus.QUEUED_FOR_TRAINING,
                       description="Textes législatifs en vigueur.", days_ago=1),
        "C": published(member, "Forum de discussion", license="CC-BY-NC-4.0", domain="conversation",
                       period_start=2015, documents=200_000, words=5_000_000, status=CorpusStatus.RELEASED,
                       languages=[("fr", 150_000), ("de", 50_000)], days_ago=2),
        "D": published(member, "Poèmes", license="public-domain", domain="literature", documents=50,
                       words=20_000, languages=[("oc", 50)], description="Poésie occitane du XIXe siècle.",
                       days_ago=0),
    }
    for status in [CorpusStatus.DRAFT, CorpusStatus.AWAITING_REVIEW, CorpusStatus.REJECTED, CorpusStatus.WITHDRAWN,
                   CorpusStatus.CHANGES_REQUESTED, CorpusStatus.FAILED, CorpusStatus.PROCESSING]:
        made[status] = published(member, f"Privé {status}", status=status, documents=10, words=10_000_000)
    return made


def test_the_catalogue_lists_only_accepted_corpora(client, known):
    response = client.get(reverse("contributions:data_list"), **EN)
    assert response.status_code == 200
    assert sorted(titles(response)) == sorted(known[k].title for k in "ABCD")
    assert "Privé" not in response.content.decode()


@pytest.mark.parametrize(
    "status",
    [CorpusStatus.DRAFT, CorpusStatus.AWAITING_REVIEW, CorpusStatus.REJECTED, CorpusStatus.WITHDRAWN,
     CorpusStatus.CHANGES_REQUESTED, CorpusStatus.FAILED, CorpusStatus.PROCESSING],
)
def test_a_corpus_that_is_not_accepted_has_no_public_page(client, known, status):
    assert client.get(reverse("contributions:data_detail", args=[known[status].pk])).status_code == 404


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "régionale"}, "A"),  # title
        ({"q": "TEXTES"}, "B"),  # description, any case
        ({"q": "occitane"}, "D"),
        ({"q": "nothing like this"}, ""),
        ({"license": "CC-BY-4.0"}, "A"),
        ({"license": "etalab-2.0"}, "B"),
        ({"family": "restricted"}, "C"),
        ({"family": "open"}, "ABD"),
        ({"language": "fr"}, "ABC"),
        ({"language": "de"}, "C"),
        ({"language": "en"}, "A"),
        ({"language": "oc"}, "D"),
        ({"domain": "legal"}, "B"),
        ({"domain": "conversation"}, "C"),
        ({"period_from": 1995, "period_to": 1995}, "A"),
        ({"period_from": 2018}, "BC"),
        ({"period_to": 2005}, "A"),
        ({"period_from": 2030}, "C"),  # its period has no end
        ({"period_from": 2001, "period_to": 2009}, ""),
        ({"size": "small"}, "AD"),
        ({"size": "medium"}, "B"),
        ({"size": "large"}, "C"),
        ({"family": "open", "language": "fr"}, "AB"),
        ({"q": "o", "size": "small", "domain": "news"}, "A"),
    ],
)
def test_search_and_filters_return_the_right_corpora(client, known, params, expected):
    response = client.get(reverse("contributions:data_list"), params, **EN)
    assert response.status_code == 200
    assert sorted(titles(response)) == sorted(known[k].title for k in expected)


def test_sort_by_size_or_by_date(client, known):
    url = reverse("contributions:data_list")
    assert titles(client.get(url, {"sort": "words"})) == [known[k].title for k in "CBAD"]
    assert titles(client.get(url, {"sort": "newest"})) == [known[k].title for k in "DBCA"]
    assert titles(client.get(url)) == [known[k].title for k in "DBCA"]


def test_bad_parameters_are_ignored_and_said(client, known):
    response = client.get(
        reverse("contributions:data_list"),
        {"size": "huge", "period_from": "abc", "language": "xx", "sort": "bogus", "page": "zzz", "license": "GPL",
         "domain": "legal"},
        **EN,
    )
    assert response.status_code == 200
    # The valid filter still applies; the others are reported.
    assert titles(response) == [known["B"].title]
    assert response.content.decode().count("Ignored:") == 5
    too_long = client.get(reverse("contributions:data_list"), {"q": "x" * 5000, "page": "99999"})
    assert too_long.status_code == 200


def test_pages_keep_the_filters(client, member):
    for number in range(catalogue.PAGE_SIZE + 3):
        published(member, f"Corpus {number}", domain="news", days_ago=number)
    published(member, "Other domain", domain="legal")
    url = reverse("contributions:data_list")
    first = client.get(url, {"domain": "news"}, **EN)
    assert f"{catalogue.PAGE_SIZE + 3} corpora" in first.content.decode()
    assert 'href="?domain=news&amp;page=2"' in first.content.decode()
    second = client.get(url, {"domain": "news", "page": 2})
    assert titles(second) == [f"Corpus {n}" for n in range(catalogue.PAGE_SIZE, catalogue.PAGE_SIZE + 3)]


def _public_release(version, corpus, documents=10, *, public=True, status=JobStatus.DONE, configs=("open",)):
    release = Release.objects.get_or_create(
        version=version, defaults={"public": public, "status": status,
                                   "stats": {"configs": {name: {"documents": 1, "files": 1} for name in configs}}},
    )[0]
    ReleaseEntry.objects.create(release=release, corpus=corpus, documents=documents, words=documents * 10)
    return release


def test_each_row_shows_main_languages_and_public_releases(client, member):
    corpus = published(member, "Quatre langues", documents=10, words=100,
                       languages=[("fr", 40), ("de", 30), ("en", 20), ("it", 10)])
    _public_release("2026-10", corpus)
    _public_release("2026-11", corpus)
    _public_release("private-one", corpus, public=False)
    _public_release("still-building", corpus, status=JobStatus.RUNNING)
    _public_release("left-all-out", corpus, documents=0)
    response = client.get(reverse("contributions:data_list"), **EN)
    row = re.search(r"Quatre langues.*?</tr>", response.content.decode(), re.S).group(0)
    assert "French (fr)" in row and "German (de)" in row and "English (en)" in row
    assert "Italian" not in row
    assert "2026-10" in row and "2026-11" in row
    assert "private-one" not in row and "still-building" not in row and "left-all-out" not in row


def _catalogue_rows(member, count):
    release = Release.objects.create(version=f"r{count}", public=True, status=JobStatus.DONE)
    for number in range(count):
        corpus = published(member, f"Corpus {number}", documents=number, words=number * 10,
                           languages=[("fr", 5), ("en", 3), ("de", 2), ("it", 1)])
        ReleaseEntry.objects.create(release=release, corpus=corpus, documents=1)


@pytest.mark.parametrize("count", [3, 30])
def test_catalogue_queries_are_bounded(client, member, django_assert_max_num_queries, count):
    _catalogue_rows(member, count)
    url = reverse("contributions:data_list")
    # One to know whether the corpora or releases changed, then the count, the rows, their
    # submitters, languages and releases.
    with django_assert_max_num_queries(6):
        response = client.get(url, {"language": "fr", "sort": "words"})
    assert len(titles(response)) == count
    with django_assert_max_num_queries(1):
        again = client.get(url, {"language": "fr", "sort": "words"})
    assert titles(again) == titles(response)
    signed_in(client, member)
    # The session, the member and the unread notifications, besides.
    with django_assert_max_num_queries(11):
        client.get(url)


def test_the_cached_results_follow_the_accepted_corpora_and_releases(client, member):
    url = reverse("contributions:data_list")
    kept = published(member, "Déjà là")
    assert titles(client.get(url)) == ["Déjà là"]
    newcomer = published(member, "Nouveau", status=CorpusStatus.AWAITING_REVIEW)
    assert titles(client.get(url)) == ["Déjà là"]
    lifecycle.corpus_transition(corpus_id=newcomer.pk, to=CorpusStatus.APPROVED)
    assert sorted(titles(client.get(url))) == ["Déjà là", "Nouveau"]
    lifecycle.corpus_transition(corpus_id=kept.pk, to=CorpusStatus.WITHDRAWN)
    assert titles(client.get(url)) == ["Nouveau"]
    release = Release.objects.create(version="2027-01", public=True, status=JobStatus.RUNNING)
    ReleaseEntry.objects.create(release=release, corpus=newcomer, documents=5)
    assert "2027-01" not in client.get(url).content.decode()
    Release.objects.filter(pk=release.pk).update(status=JobStatus.DONE, finished_at=timezone.now())
    assert "2027-01" in client.get(url).content.decode()


def test_the_cached_results_follow_a_swap_that_keeps_the_number_of_corpora(client, member):
    url = reverse("contributions:data_list")
    leaving = published(member, "Sur le départ")
    coming = published(member, "En attente", status=CorpusStatus.AWAITING_REVIEW)
    assert titles(client.get(url)) == ["Sur le départ"]
    # As many published corpora as before: the status changes tell.
    lifecycle.corpus_transition(corpus_id=leaving.pk, to=CorpusStatus.WITHDRAWN)
    lifecycle.corpus_transition(corpus_id=coming.pk, to=CorpusStatus.APPROVED)
    assert titles(client.get(url)) == ["En attente"]


# ---------------------------------------------------------------- the corpus page


WITH_EMAIL = FRENCH[0] + " Écrivez à jeanne.martin@example.com pour toute question sur le budget."


@pytest.fixture
def shipped(member):
    """A corpus whose text holds an email address: analysed, approved by two
    reviewers (one with a public name), built and released."""
    member.public_profile, member.display_name = True, "Jeanne Contributrice"
    member.save()
    corpus, _run = analysed(member, [("a.jsonl", jsonl(WITH_EMAIL, *FRENCH[1:]))])
    named = ReviewerFactory(public_profile=True, display_name="Paul Relecteur")
    private = ReviewerFactory(public_profile=False, display_name="Caché Secret")
    review.review_decide(corpus=corpus, reviewer=named, decision=Decision.APPROVE)
    review.review_decide(corpus=corpus, reviewer=private, decision=Decision.APPROVE)
    job_run("training", TrainingVersion.objects.get(corpus=corpus).id)
    maintainer = MaintainerFactory()
    release = releases.release_create(actor=maintainer, version="2026-12", public=True)
    job_run("release", release.id)
    release.refresh_from_db()
    assert release.status == JobStatus.DONE, release.error
    corpus.refresh_from_db()
    return {"corpus": corpus, "named": named, "private": private, "release": release, "maintainer": maintainer}


def test_the_corpus_page_is_a_dataset_card(client, shipped):
    corpus = shipped["corpus"]
    response = client.get(reverse("contributions:data_detail", args=[corpus.pk]), **EN)
    assert response.status_code == 200
    html = response.content.decode()
    # Provenance and license with its text.
    assert "https://www.etalab.gouv.fr/licence-ouverte-open-licence/" in html
    assert corpus.source_url in html
    # The analysis as charts, each with its numbers.
    assert html.count('<svg class="chart"') >= 3
    assert "Documents by language" in html and "French (fr)" in html
    assert "Personal data found" in html and "an email address" in html
    # Credit: the submitter's public name; the reviewers' public name or pseudonym.
    assert "Jeanne Contributrice" in html
    assert "Approved by 2 reviewers" in html
    assert "Paul Relecteur" in html and shipped["private"].pseudonym in html
    assert "Caché Secret" not in html


def test_the_corpus_page_shows_what_each_release_kept(client, shipped):
    corpus, release = shipped["corpus"], shipped["release"]
    entry = ReleaseEntry.objects.get(release=release, corpus=corpus)
    assert entry.documents == 3 and entry.masked == 1
    response = client.get(reverse("contributions:data_detail", args=[corpus.pk]), **EN)
    [item] = response.context["text_went"]
    assert (item.documents, item.masked, item.release_version) == (3, 1, "2026-12")
    assert item.explore_url.endswith(f"?corpus={corpus.pk}") and "/open" in item.explore_url
    html = response.content.decode()
    for label, value in [
        ("Excluded by the reviewers", entry.excluded), ("Dropped as duplicates", entry.duplicates),
        ("Left out by the release's filters", entry.filtered), ("Personal data masked", 1),
    ]:
        assert f'data-label="{label}">{value}</td>' in html


def test_samples_come_from_the_training_text_with_placeholders(client, shipped):
    corpus = shipped["corpus"]
    response = client.get(reverse("contributions:data_detail", args=[corpus.pk]), **EN)
    html = response.content.decode()
    samples = response.context["samples"]
    assert len(samples) == 3
    assert any("<EMAIL>" in sample["text"] for sample in samples)
    assert "&lt;EMAIL&gt;" in html
    assert "jeanne.martin@example.com" not in html
    # No member's address anywhere on the page.
    for user in (corpus.submitter, shipped["named"], shipped["private"]):
        assert user.email not in html


def test_samples_are_cut_and_cached_per_training_version(client, member, django_assert_max_num_queries):
    long_text = " ".join(["Le conseil municipal a voté le budget de la commune."] * 100)
    corpus = _queued(member, [long_text, *FRENCH])
    first = catalogue.corpus_samples(corpus=corpus)
    assert first[0]["truncated"] and len(first[0]["text"]) == catalogue.SAMPLE_CHARS
    version = TrainingVersion.objects.get(corpus=corpus)
    TrainingVersion.objects.filter(pk=version.pk).update(shards=["missing/file.parquet"])
    assert catalogue.corpus_samples(corpus=corpus) == first  # kept per version: the file is not read again
    cache.clear()
    assert catalogue.corpus_samples(corpus=corpus) == []  # a file gone: no sample, and no error...
    TrainingVersion.objects.filter(pk=version.pk).update(shards=version.shards)
    assert catalogue.corpus_samples(corpus=corpus) == first  # ...nor a failure kept in the cache


def _queued(user, docs, **metadata):
    maintainer = MaintainerFactory()
    corpus, _run = analysed(user, [("a.jsonl", jsonl(*docs))], **metadata)
    corpus = review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    job_run("training", TrainingVersion.objects.get(corpus=corpus).id)
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.QUEUED_FOR_TRAINING
    return corpus


def test_a_restricted_corpus_shows_samples_for_non_commercial_use(client, member):
    corpus = _queued(member, FRENCH, license="CC-BY-NC-4.0")
    html = client.get(reverse("contributions:data_detail", args=[corpus.pk]), **EN).content.decode()
    assert "not for commercial use" in html
    assert FRENCH[1][:60] in html
    assert "https://creativecommons.org/licenses/by-nc/4.0/" in html


def test_a_private_submitter_is_credited_by_pseudonym(client, member):
    member.public_profile, member.display_name = False, "Nom Privé"
    member.save()
    corpus = published(member, "Corpus discret")
    for url in (reverse("contributions:data_detail", args=[corpus.pk]), reverse("contributions:data_list")):
        html = client.get(url, **EN).content.decode()
        assert member.pseudonym in html and "Nom Privé" not in html and member.email not in html
        assert reverse("contributions:person", args=[member.pseudonym]) not in html


def test_an_opted_in_submitter_is_credited_by_public_name_in_the_catalogue(client, member):
    member.public_profile, member.display_name = True, "Nom Public"
    member.save()
    published(member, "Corpus signé")
    html = client.get(reverse("contributions:data_list"), **EN).content.decode()
    assert "by Nom Public" in html and member.pseudonym not in html


def test_a_corpus_without_analysis_or_release_still_has_its_page(client, member):
    corpus = published(member, "Sans analyse")
    response = client.get(reverse("contributions:data_detail", args=[corpus.pk]), **EN)
    assert response.status_code == 200
    assert response.context["report"] is None and response.context["samples"] == []
    # Nothing to explore before the training-ready text is built.
    assert "Explore this corpus" not in response.content.decode()


@pytest.mark.parametrize("count", [3, 30])
def test_corpus_page_queries_are_bounded(client, member, django_assert_max_num_queries, count):
    corpus = published(member, "Beaucoup de relectures", languages=[(f"l{n}", n) for n in range(count)])
    for number in range(count):
        _public_release(f"v{number}", corpus, configs=("open-fr", "restricted"))
        Review.objects.create(corpus=corpus, corpus_version=corpus.version, reviewer=ReviewerFactory(),
                              decision=Decision.APPROVE)
    url = reverse("contributions:data_detail", args=[corpus.pk])
    # The corpus, the state of the public releases; then its report, releases (and their configs),
    # reviews, training version.
    with django_assert_max_num_queries(7):
        response = client.get(url)
    assert len(response.context["text_went"]) == count
    assert response.context["reviews"].approvals == count
    with django_assert_max_num_queries(2):
        again = client.get(url)
    assert again.content.split(b"<main")[1] == response.content.split(b"<main")[1]


def test_the_cached_corpus_page_follows_its_corpus_and_the_releases(client, member):
    corpus = published(member, "Suivi")
    url = reverse("contributions:data_detail", args=[corpus.pk])
    assert "No public release carries this corpus yet." in client.get(url, **EN).content.decode()
    _public_release("2027-02", corpus)
    assert "2027-02" in client.get(url, **EN).content.decode()
    lifecycle.corpus_transition(corpus_id=corpus.pk, to=CorpusStatus.WITHDRAWN)
    assert client.get(url, **EN).status_code == 404


# ---------------------------------------------------------------- contributors


def test_contributors_are_ranked_by_words_accepted_and_opted_in_only(client):
    big = UserFactory(public_profile=True, display_name="Grande Contributrice")
    small = UserFactory(public_profile=True, display_name="Petit Contributeur")
    hidden = UserFactory(public_profile=False, display_name="Contributeur Caché")
    nothing = UserFactory(public_profile=True, display_name="Rien d'accepté")
    published(big, "b1", words=600)
    published(big, "b2", words=500, status=CorpusStatus.RELEASED)
    published(small, "s1", words=1_000)
    published(small, "s2", words=5_000_000, status=CorpusStatus.REJECTED)  # not accepted: not counted
    published(hidden, "h1", words=9_000_000)
    published(nothing, "n1", words=9_000_000, status=CorpusStatus.DRAFT)
    response = client.get(reverse("contributions:contributors"), **EN)
    assert response.status_code == 200
    ranking = [(p.public_name, p.words_accepted, p.corpora_accepted) for p in response.context["page"]]
    assert ranking == [("Grande Contributrice", 1100, 2), ("Petit Contributeur", 1000, 1)]
    html = response.content.decode()
    assert "Contributeur Caché" not in html and hidden.pseudonym not in html and "@" not in html


@pytest.mark.parametrize("count", [3, 30])
def test_contributors_queries_are_bounded(client, django_assert_max_num_queries, count):
    for number in range(count):
        published(UserFactory(public_profile=True), f"c{number}", words=number + 1)
    url = reverse("contributions:contributors")
    # Whether the accepted corpora changed, then the count and the page of the ranking.
    with django_assert_max_num_queries(3):
        response = client.get(url)
    assert len(response.context["page"]) == count
    with django_assert_max_num_queries(1):
        again = client.get(url)
    assert again.content.split(b"<main")[1] == response.content.split(b"<main")[1]


def test_a_public_profile_shows_what_the_member_gave(client, shipped):
    member, named = shipped["corpus"].submitter, shipped["named"]
    published(member, "Un autre corpus", words=1_000)
    published(member, "Un brouillon", words=1_000, status=CorpusStatus.DRAFT)
    response = client.get(reverse("contributions:person", args=[member.pseudonym]), **EN)
    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures.corpora == 2
    assert figures.words == shipped["corpus"].words + 1_000
    assert figures.releases == 1 and figures.reviews == 0
    html = response.content.decode()
    assert "Jeanne Contributrice" in html and "Un autre corpus" in html and "Un brouillon" not in html
    assert "2026-12" in html and member.email not in html
    reviewer_page = client.get(reverse("contributions:person", args=[named.pseudonym]), **EN)
    assert reviewer_page.context["figures"].reviews == 1


def test_a_private_profile_is_absent_except_to_its_owner(client, member):
    member.public_profile, member.display_name = False, "Nom Privé"
    member.save()
    published(member, "Corpus visible")
    url = reverse("contributions:person", args=[member.pseudonym])
    assert client.get(url).status_code == 404
    client.force_login(UserFactory())
    assert client.get(url).status_code == 404
    client.force_login(member)
    response = client.get(url, **EN)
    assert response.status_code == 200
    html = response.content.decode()
    assert member.pseudonym in html and "Corpus visible" in html
    assert "figures" not in response.context


@pytest.mark.parametrize("count", [3, 30])
def test_person_page_queries_are_bounded(client, member, django_assert_max_num_queries, count):
    member.public_profile = True
    member.save()
    for number in range(count):
        corpus = published(member, f"p{number}", words=10)
        _public_release(f"v{number}", corpus)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("contributions:person", args=[member.pseudonym]))
    assert response.context["figures"].releases == count


@pytest.mark.parametrize(
    ("configs", "family", "language", "expected"),
    [
        (["open-en", "open-fr", "restricted"], "open", "fr", "open-fr"),
        (["open-en", "open-fr", "restricted"], "open", "", "open-en"),
        (["open-en", "open-fr", "restricted"], "restricted", "fr", "restricted"),
        (["open", "restricted-de", "restricted-fr"], "restricted", "it", "restricted-de"),
        (["open", "open-fr"], "open", "de", "open"),
        (["open"], "restricted", "fr", None),
        ([], "open", "fr", None),
    ],
)
def test_the_rows_of_a_corpus_are_looked_for_in_its_family_config(configs, family, language, expected):
    configs = {name: {"documents": 1, "files": 1} for name in configs}
    assert catalogue.release_config_for(configs=configs, family=family, language=language) == expected


def test_release_rows_link_to_the_explorer(client, member):
    corpus = _queued(member, FRENCH, license="CC-BY-NC-4.0")
    _public_release("2026-09", corpus, configs=("open", "restricted-fr"))
    html = client.get(reverse("contributions:data_detail", args=[corpus.pk]), **EN).content.decode()
    rows = reverse("contributions:explore_release", args=["2026-09", "restricted-fr"])
    assert f'href="{rows}?corpus={corpus.pk}"' in html
    assert f'href="{reverse("contributions:explore_corpus", args=[corpus.pk])}"' in html


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_public_pages_fit_a_phone_and_a_desktop(browser, live_server, tmp_path):
    member = UserFactory(public_profile=True, display_name="Jeanne Contributrice")
    corpus = _queued(member, [WITH_EMAIL, *FRENCH], title="Procès-verbaux du conseil municipal de la commune")
    _public_release("2026-12-une-version-au-nom-long", corpus, configs=("open-fr",))
    too_wide = {}
    for width in (390, 1280):
        viewport = {"width": width, "height": 900}
        context = browser.new_context(base_url=live_server.url, locale="fr-FR", viewport=viewport)
        page = context.new_page()
        for url in ["/data/", "/data/?language=xx&size=huge", f"/data/{corpus.pk}/", "/contributors/",
                    f"/people/{member.pseudonym}/"]:
            page.goto(url)
            scroll = page.evaluate("document.documentElement.scrollWidth")
            if scroll > width:
                too_wide[(url, width)] = scroll
        page.goto(f"/data/{corpus.pk}/")
        page.screenshot(path=str(tmp_path / f"corpus-{width}.png"), full_page=True)
        context.close()
    assert too_wide == {}


def test_public_pages_answer_head_requests(client, member):
    # Feed readers, link checkers and uptime monitors ask with HEAD.
    corpus = published(member, "Publié")
    for name, args in [
        ("home", []), ("data_list", []), ("data_detail", [corpus.pk]), ("contributors", []), ("stats", []),
        ("stats_json", []), ("release_list", []), ("release_feed", []),
    ]:
        response = client.head(reverse(f"contributions:{name}", args=args))
        assert response.status_code == 200, name
        assert not response.content
