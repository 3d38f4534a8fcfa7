"""Removal requests: no oracle on the data, the address confirmed first, the
search as a job over what is public only, the outcome by email."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from contributions import releases, removals, review
from contributions.jobs import Outcome, job_run
from contributions.models import (
    Decision,
    JobStatus,
    OutgoingEmail,
    RemovalRequest,
    RemovalSearch,
    RemovedDocument,
    TrainingVersion,
)

from .corpora import FRENCH, analysed, jsonl
from .factories import MaintainerFactory, UserFactory

pytestmark = pytest.mark.django_db

PHRASE = "La bibliothèque propose désormais"


def released(*, public: bool, version: str = "2026-12"):
    maintainer = MaintainerFactory()
    corpus, _run = analysed(UserFactory(), [("a.jsonl", jsonl(*FRENCH, "Écrire à jeanne@exemple.fr, merci."))])
    review.review_decide(corpus=corpus, reviewer=maintainer, decision=Decision.APPROVE)
    job_run("training", TrainingVersion.objects.get(corpus=corpus).id)
    release = releases.release_create(actor=maintainer, version=version, public=public)
    assert job_run("release", release.id) is Outcome.DONE
    return corpus, maintainer


def link_in(email: OutgoingEmail) -> str:
    return re.search(r"https?://[^/\s]+(/removal/\S+/)", email.body_text).group(1)


def ask(client, **data):
    return client.post(reverse("contributions:removal_new"), {"kind": "copyright", "contact": "auteur@example.org",
                                                              **data})


def test_the_form_tells_nothing_about_the_data(client):
    released(public=True)
    present = ask(client, phrase=PHRASE).content.decode()
    absent = ask(client, phrase="Une phrase qui n'est nulle part").content.decode()
    # The same page either way, with no count, and nothing searched yet.
    strip = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')
    assert strip.sub("", present) == strip.sub("", absent)
    assert not RemovalSearch.objects.exists()


def test_the_outcome_goes_to_the_confirmed_address_only(client, django_capture_on_commit_callbacks):
    corpus, _maintainer = released(public=True)
    ask(client, phrase=PHRASE)
    removal = RemovalRequest.objects.get()
    [confirmation] = OutgoingEmail.objects.filter(to="auteur@example.org")
    url = link_in(confirmation)
    # Opening the link is not confirming (mail scanners open links).
    page = client.get(url)
    assert page.status_code == 200 and not RemovalSearch.objects.exists()
    assert client.post(url).status_code == 302
    search = RemovalSearch.objects.get(request=removal)
    assert "Being checked" in client.get(url, headers={"accept-language": "en"}).content.decode()
    assert job_run("removal_search", search.id) is Outcome.DONE
    search.refresh_from_db()
    assert search.matches == [f"c{corpus.id}-v1-d1"]
    outcome = OutgoingEmail.objects.filter(to="auteur@example.org").order_by("id").last()
    assert outcome.pk != confirmation.pk and "1 document" in outcome.body_text
    live = client.get(
        reverse("contributions:removal_status_live", args=[url.split("/")[2]]), headers={"accept-language": "en"}
    ).json()
    assert live["active"] is False and "1 document of the public release 2026-12 matches" in live["parts"][
        "removal-search"]


def test_a_signed_in_member_asking_for_their_own_address_needs_no_link(client, member):
    released(public=True)
    client.force_login(member)
    response = ask(client, phrase=PHRASE, contact=member.email)
    assert response.status_code == 302 and "/removal/" in response["Location"]
    assert RemovalSearch.objects.get().status == JobStatus.QUEUED


def test_an_unpublished_release_is_never_searched():
    released(public=False)
    removal = removals.removal_request_file(kind="copyright", contact="a@example.org", phrase=PHRASE)
    search = removals.removal_confirm(removal=removal)
    job_run("removal_search", search.id)
    search.refresh_from_db()
    assert search.status == JobStatus.DONE and search.matches == [] and search.release is None


def test_only_the_requesters_own_address_is_looked_for(client):
    corpus, _maintainer = released(public=True)
    # Someone else's address cannot be asked about: the form has no field for it.
    ask(client, kind="personal_data", email="jeanne@exemple.fr", contact="curieux@example.org", search_address="on")
    removal = RemovalRequest.objects.get()
    assert removal.email_key == removals._email_key("curieux@example.org")
    # Jeanne asks about her own address, and confirms it.
    removal = removals.removal_request_file(kind="personal_data", contact="Jeanne@Exemple.fr", search_address=True)
    search = removals.removal_confirm(removal=removal)
    job_run("removal_search", search.id)
    search.refresh_from_db()
    assert search.matches == [f"c{corpus.id}-v1-d3"]
    assert "jeanne" not in str(RemovalRequest.objects.filter(pk=removal.pk).values("email_key", "phrase").get())


def test_the_form_cannot_flood_an_inbox():
    for _ in range(6):
        removals.removal_request_file(kind="copyright", contact="victime@example.org", phrase="x")
    assert OutgoingEmail.objects.filter(to="victime@example.org").count() == removals.LINKS_PER_HOUR


def test_a_phrase_found_everywhere_stops_at_the_cap(monkeypatch):
    released(public=True)
    monkeypatch.setattr(removals, "MAX_MATCHES", 2)
    removal = removals.removal_request_file(kind="copyright", contact="a@example.org", phrase="e")
    search = removals.removal_confirm(removal=removal)
    job_run("removal_search", search.id)
    search.refresh_from_db()
    assert len(search.matches) == 2


def test_a_bad_or_old_link_is_a_404(client):
    assert client.get("/removal/nimporte-quoi/").status_code == 404
    removal = RemovalRequest.objects.create(kind="copyright", contact="a@example.org", phrase="x")
    token = removals.removal_token(removal)
    assert client.get(f"/removal/{token[:-2]}xx/").status_code == 404


def test_the_maintainer_decides_and_the_requester_hears_of_it(client):
    corpus, maintainer = released(public=True)
    removal = removals.removal_request_file(kind="copyright", contact="auteur@example.org", phrase=PHRASE)
    # Not confirmed: not in the maintainers' queue.
    client.force_login(maintainer)
    assert list(client.get(reverse("contributions:removal_queue")).context["requests"]) == []
    search = removals.removal_confirm(removal=removal)
    job_run("removal_search", search.id)
    assert [r.pk for r in client.get(reverse("contributions:removal_queue")).context["requests"]] == [removal.pk]
    client.post(reverse("contributions:removal_decide", args=[removal.pk]), {"decision": "accept"})
    assert list(RemovedDocument.objects.values_list("doc_id", flat=True)) == [f"c{corpus.id}-v1-d1"]
    decision = OutgoingEmail.objects.filter(to="auteur@example.org").order_by("id").last()
    assert "accept" in decision.body_text.lower()


@pytest.mark.parametrize("accept", [True, False])
def test_no_decision_before_the_search_finished(accept):
    from django.core.exceptions import ValidationError

    _corpus, maintainer = released(public=True)
    removal = removals.removal_request_file(kind="copyright", contact="a@example.org", phrase=PHRASE)
    # Never confirmed, then confirmed but not searched yet: nothing to decide.
    for _ in range(2):
        with pytest.raises(ValidationError):
            removals.removal_decide(request_id=removal.pk, maintainer=maintainer, accept=accept)
        removals.removal_confirm(removal=removal)
    assert not OutgoingEmail.objects.filter(to="a@example.org", subject__contains="décision").exists()
