"""A large corpus analysed in parts by many workers: the same documents,
duplicates, report and shards as one process gives, and nothing lost or
counted twice when a worker dies."""

from __future__ import annotations

import io
import random
import zipfile
from datetime import timedelta

import orjson
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from contributions import jobs, submissions
from contributions.analysis import pipeline
from contributions.jobs import Outcome, job_run
from contributions.models import AnalysisPart, AnalysisRun, CorpusFile, CorpusStatus, DocumentFingerprint, JobStatus
from contributions.texts import message_render

from .corpora import FRENCH, add_file, analysed, analysis_finished, make_corpus, near_duplicates, shard_rows, submitted

pytestmark = pytest.mark.django_db

ENGLISH = "The library now offers reading workshops for children on Wednesday afternoons, free of charge."


def corpus_files() -> list[tuple]:
    """Exact and near duplicates far apart, bad and blank lines, personal
    data, several languages, in a JSON Lines file large enough to be cut,
    then a plain text file and a small JSON Lines file."""
    rng = random.Random(7)
    lines: list[bytes] = []
    long_text = " ".join(FRENCH * 3)
    for i in range(240):
        choice = rng.random()
        if i == 200:
            lines.append(orjson.dumps({"text": FRENCH[0] + " 0", "source_id": i}))  # = document 0
        elif i == 220:
            lines.append(orjson.dumps({"text": long_text + " Une phrase de plus."}))  # near document 5
        elif i == 5:
            lines.append(orjson.dumps({"text": long_text}))
        elif choice < 0.05:
            lines.append(b"{not json")
        elif choice < 0.1:
            lines.append(b"")
        elif choice < 0.2:
            lines.append(orjson.dumps({"text": ENGLISH + f" Line {i}."}))
        elif choice < 0.25:
            text = f"Écrire à contact{i}@exemple.fr ou appeler le 06 12 34 56 {i % 90 + 10}."
            lines.append(orjson.dumps({"text": text}))
        else:
            lines.append(orjson.dumps({"text": f"{rng.choice(FRENCH)} {i}", "source_id": i}))
    big = b"\n".join(lines) + b"\n"
    return [
        ("big.jsonl", big),
        ("notes.txt", FRENCH[1] + "\n\n" + FRENCH[2], {"split": "blank_lines"}),
        ("small.jsonl", orjson.dumps({"text": FRENCH[0] + " 0"}) + b"\n"),
    ]


def reanalysed(run: AnalysisRun) -> AnalysisRun:
    """The same version of the same corpus analysed again (the sample's
    seed is the corpus's and the version's)."""
    again = AnalysisRun.objects.create(corpus=run.corpus, corpus_version=run.corpus_version)
    analysis_finished(again.pk)
    again.refresh_from_db()
    return again


def by_index(run: AnalysisRun) -> list[dict]:
    return sorted(shard_rows(run), key=lambda row: row["doc_index"])


def test_a_split_analysis_gives_the_same_documents_duplicates_and_report(member, settings, monkeypatch):
    # Batches and heartbeats inside every part, and batches across the merge.
    monkeypatch.setattr(pipeline, "BATCH_ROWS", 7)
    monkeypatch.setattr(jobs, "BEAT_EVERY", 0)
    settings.ANALYSIS_PART_BYTES = 10**9
    corpus, whole = analysed(member, corpus_files())
    assert whole.status == JobStatus.DONE and whole.parts_count == 0
    settings.ANALYSIS_PART_BYTES = 2_000
    settings.ANALYSIS_PARTS_IN_FLIGHT = 2
    split = reanalysed(whole)
    assert split.status == JobStatus.DONE
    parts = list(split.parts.order_by("number"))
    assert len(parts) > 5 and all(part.status == JobStatus.DONE for part in parts)
    # The big file in ranges of lines, then the two small files together.
    assert (parts[-1].file.original_name, parts[-1].file_count) == ("notes.txt", 2)
    assert sum(part.end is not None for part in parts) == len(parts) - 1

    rows, expected = by_index(split), by_index(whole)
    assert len(rows) == len(expected) == whole.report["documents"]
    assert rows == expected  # text, numbers, lines, duplicates, flags, signatures: everything
    assert split.report == whole.report  # counts, problems with their lines, the sample
    assert near_duplicates(split) == near_duplicates(whole) and near_duplicates(split)
    assert split.report["duplicates"]["exact_within"] == 2  # across parts and files
    assert any(problem["line"] > 40 for problem in split.report["problems"])
    fingerprints = set(DocumentFingerprint.objects.filter(run=split).values_list("hash", "doc_index"))
    assert fingerprints == {(row["hash"], row["doc_index"]) for row in expected}
    corpus.refresh_from_db()
    assert corpus.status == CorpusStatus.AWAITING_REVIEW


def same_analysis(split: AnalysisRun, whole: AnalysisRun) -> None:
    split.refresh_from_db()
    assert split.status == JobStatus.DONE, split.error
    rows = by_index(split)
    assert rows == by_index(whole) and split.report == whole.report
    assert near_duplicates(split) == near_duplicates(whole)
    fingerprints = list(DocumentFingerprint.objects.filter(run=split).values_list("hash", "doc_index"))
    assert sorted(fingerprints) == sorted((row["hash"], row["doc_index"]) for row in rows)  # each once


def planned(whole: AnalysisRun, settings) -> AnalysisRun:
    """The same version analysed again in parts, all due at once; planned,
    no part run yet."""
    settings.ANALYSIS_PART_BYTES = 2_000
    settings.ANALYSIS_PARTS_IN_FLIGHT = 100
    run = AnalysisRun.objects.create(corpus=whole.corpus, corpus_version=whole.corpus_version)
    assert job_run("analysis", run.pk) == Outcome.PARKED
    return run


def test_parts_ending_in_any_order_are_merged_by_the_workers_as_they_can(member, settings):
    settings.ANALYSIS_PART_BYTES = 10**9
    _corpus, whole = analysed(member, corpus_files())
    run = planned(whole, settings)
    parts = list(run.parts.order_by("number").values_list("pk", flat=True))
    for part_id in parts[:0:-1]:  # the last first; the first part last
        assert job_run("analysis_part", part_id) == Outcome.DONE
        run.refresh_from_db()
        assert run.merged_parts == 0  # nothing can be merged before the first part
    assert job_run("analysis_part", parts[0]) == Outcome.DONE
    run.refresh_from_db()
    # The first part's worker merged it, then every part after it, done already.
    assert run.merged_parts == len(parts) and run.run_after <= timezone.now()
    # What a worker killed in the middle of a merge left.
    orphan = default_storage.save(f"{pipeline._merged_folder(run)}/part-00002-shard-00000.parquet", ContentFile(b"x"))
    assert job_run("analysis", run.pk) == Outcome.DONE
    same_analysis(run, whole)
    assert orphan not in run.shards and not default_storage.exists(orphan)


def test_a_part_left_unmerged_by_the_workers_is_merged_by_the_run(member, settings, monkeypatch):
    settings.ANALYSIS_PART_BYTES = 10**9
    _corpus, whole = analysed(member, corpus_files())
    run = planned(whole, settings)
    # The two workers looked at once: the first before the second's part was
    # done, the second before the first's was merged; neither merged it.
    monkeypatch.setattr(pipeline, "_merge_from", lambda run, part, context: None)
    first = run.parts.get(number=0)
    assert job_run("analysis_part", first.pk) == Outcome.DONE
    run.refresh_from_db()
    assert run.status == JobStatus.QUEUED and run.merged_parts == 0 and run.run_after <= timezone.now()  # woken
    assert job_run("analysis", run.pk) == Outcome.PARKED
    run.refresh_from_db()
    assert run.merged_parts == 1  # merged, and back to waiting for the others
    analysis_finished(run.pk)
    same_analysis(run, whole)


def test_a_part_merged_twice_at_once_counts_once(member, settings, monkeypatch):
    settings.ANALYSIS_PART_BYTES = 10**9
    _corpus, whole = analysed(member, corpus_files())
    run = planned(whole, settings)
    merge_part = pipeline._merge_part
    second: list[bool] = []

    def and_another_worker_too(run, part, context):
        before = AnalysisRun.objects.get(pk=run.pk)  # what the other worker read
        merged = merge_part(run, part, context)
        second.append(merge_part(before, part, context))
        return merged

    monkeypatch.setattr(pipeline, "_merge_part", and_another_worker_too)
    analysis_finished(run.pk)
    assert second and not any(second)
    same_analysis(run, whole)
    run.refresh_from_db()
    folder = pipeline._merged_folder(run)
    kept = {f"{folder}/{name}" for name in default_storage.listdir(folder)[1]}
    assert kept == set(run.shards)  # the second merge's shards went


def test_the_parts_files_go_once_merged(member, settings, django_capture_on_commit_callbacks):
    settings.ANALYSIS_PART_BYTES = 2_000
    _corpus, run = submitted(member, corpus_files())
    with django_capture_on_commit_callbacks(execute=True):
        analysis_finished(run.pk)
    run.refresh_from_db()
    assert run.status == JobStatus.DONE and run.parts_count > 5
    assert all(part.shards for part in run.parts.all())  # the parts did write shards...
    assert not any(default_storage.exists(name) for part in run.parts.all() for name in part.shards)  # ...gone
    assert all(default_storage.exists(name) for name in run.shards)


def test_parts_beyond_those_in_flight_wait_for_a_part_to_end(client, member, settings):
    settings.ANALYSIS_PART_BYTES = 2_000
    settings.ANALYSIS_PARTS_IN_FLIGHT = 2
    _corpus, run = submitted(member, corpus_files())
    assert job_run("analysis", run.pk) == Outcome.PARKED
    run.refresh_from_db()
    # Parked while its parts run, the analysis shows as running.
    assert run.status == JobStatus.QUEUED and run.is_running and not run.is_queued and run.parts_count > 5
    assert list(due(run)) == [0, 1]
    job_run("analysis_part", run.parts.get(number=0).pk)
    assert list(due(run)) == [1, 2]  # the part that ended let the next one in
    run.refresh_from_db()
    assert 0 < run.percent < 100 and run.documents_done == run.parts.get(number=0).documents > 0
    # Looked at again before its parts are done (the safety re-check), it
    # parks again with the same progress.
    AnalysisRun.objects.filter(pk=run.pk).update(run_after=timezone.now())
    percent = run.percent
    assert job_run("analysis", run.pk) == Outcome.PARKED
    run.refresh_from_db()
    assert run.percent == percent and run.run_after > timezone.now()
    # Who follows the corpus sees it running, with the progress of all parts.
    client.force_login(member)
    progress = client.get(reverse("contributions:corpus_progress", args=[run.corpus_id])).json()["analysis"]
    assert progress["status"] == "running" and progress["percent"] == run.percent and progress["parts"] > 5


def due(run: AnalysisRun):
    queued = run.parts.filter(status=JobStatus.QUEUED, run_after__lte=timezone.now())
    return queued.order_by("number").values_list("number", flat=True)


def test_a_part_that_fails_fails_the_corpus_with_its_reason_and_stops_the_others(
    member, settings, django_capture_on_commit_callbacks
):
    settings.ANALYSIS_PART_BYTES = 2_000
    corpus, run = submitted(member, corpus_files())
    job_run("analysis", run.pk)
    job_run("analysis_part", run.parts.get(number=0).pk)  # analysed and merged
    run.refresh_from_db()
    merged = run.merge_state["shards"]
    assert run.merged_parts == 1 and all(default_storage.exists(name) for name in merged)
    assert DocumentFingerprint.objects.filter(run=run).exists()
    part = run.parts.get(number=1)
    default_storage.delete(part.file.file.name)  # the file is gone from storage
    with django_capture_on_commit_callbacks(execute=True):
        job_run("analysis_part", part.pk)
    run.refresh_from_db()
    corpus.refresh_from_db()
    assert run.status == JobStatus.FAILED and corpus.status == CorpusStatus.FAILED
    assert not run.parts.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).exists()
    # What was merged goes with it.
    assert not any(default_storage.exists(name) for name in merged)
    assert not DocumentFingerprint.objects.filter(run=run).exists()
    # Once the file is back, the analysis is tried again: planned afresh.
    default_storage.save(part.file.file.name, ContentFile(corpus_files()[0][1]))
    jobs.job_retry(run)
    assert not run.parts.exists()
    analysis_finished(run.pk)
    run.refresh_from_db()
    corpus.refresh_from_db()
    assert run.status == JobStatus.DONE and run.merged_parts == run.parts.count() > 5
    assert corpus.status == CorpusStatus.AWAITING_REVIEW
    assert DocumentFingerprint.objects.filter(run=run).count() == run.report["documents"]


# ---------------------------------------------------------------- edges (found by an attack on the first version)


def line(text: str) -> bytes:
    return orjson.dumps({"text": text})


def split_and_whole(member, settings, files, part_bytes) -> tuple[AnalysisRun, AnalysisRun]:
    settings.ANALYSIS_PART_BYTES = 10**9
    _corpus, whole = analysed(member, files)
    settings.ANALYSIS_PART_BYTES = part_bytes
    split = reanalysed(whole)
    assert whole.status == split.status == JobStatus.DONE, (whole.error, split.error)
    return whole, split


def parquet_file(rows: list[dict], rows_per_group: int) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer, row_group_size=rows_per_group)
    return buffer.getvalue()


def test_a_large_parquet_file_is_cut_between_row_groups_with_the_same_result(member, settings):
    rng = random.Random(3)
    rows = [{"text": f"{rng.choice(FRENCH)} {i}", "source_id": i} for i in range(300)]
    rows[7]["text"] = None  # a problem, reported on its row
    rows[290]["text"] = rows[3]["text"]  # an exact duplicate far from its first copy
    rows[150]["text"] += " Écrire à jeanne.martin@exemple.fr."
    data = parquet_file(rows, rows_per_group=20)
    whole, split = split_and_whole(member, settings, [("big.parquet", data)], len(data) // 10)
    parts = list(split.parts.order_by("number"))
    assert len(parts) >= 4 and all(part.end is not None for part in parts)
    assert sum(part.lines for part in parts) == 300  # every row in one part
    assert by_index(split) == by_index(whole) and split.report == whole.report
    assert [row["line"] for row in by_index(split)] == [i + 1 for i in range(300) if i != 7]
    assert split.report["duplicates"]["exact_within"] == 1 and split.report["problems"][0]["line"] == 8


def test_parquet_ranges_are_whole_row_groups_and_a_broken_file_is_one_part():
    from contributions.analysis.formats import parquet_ranges

    data = parquet_file([{"text": f"{FRENCH[0]} {i}"} for i in range(100)], rows_per_group=10)
    assert len(parquet_ranges(io.BytesIO(data), size=len(data), part_bytes=len(data) // 10)) > 3
    assert parquet_ranges(io.BytesIO(data[:-50]), size=len(data) - 50, part_bytes=100) == [(0, len(data) - 50)]


def paragraphs(count: int, separator: str, newline: str = "\n") -> bytes:
    rng = random.Random(11)
    docs = [newline.join(f"{rng.choice(FRENCH)} {i}.{j}" for j in range(rng.randint(1, 6))) for i in range(count)]
    return separator.join(docs).encode()


@pytest.mark.parametrize(
    ("options", "separator", "newline"),
    [
        ({"split": "blank_lines"}, "\n\n", "\n"),
        ({"split": "blank_lines"}, "\r\n \t\r\n\r\n", "\r\n"),  # blank lines of spaces, Windows ends
        ({"split": "separator", "separator": "---"}, "\n  --- \n", "\n"),
    ],
)
def test_a_large_text_file_is_cut_between_documents_only(member, settings, options, separator, newline):
    data = paragraphs(120, separator, newline)
    whole, split = split_and_whole(member, settings, [("notes.txt", data, options)], len(data) // 8)
    assert split.parts_count >= 5
    assert by_index(split) == by_index(whole) and split.report == whole.report
    assert whole.report["documents"] == 120  # no document cut in two


def test_a_text_file_of_one_document_or_an_unusual_separator_is_one_part(member, settings):
    data = paragraphs(60, "\n§§\n")
    for options in ({"split": "file"}, {"split": "separator", "separator": "§§"}):
        whole, split = split_and_whole(member, settings, [("notes.txt", data, options)], len(data) // 8)
        assert split.parts_count == 0 and by_index(split) == by_index(whole)


def test_a_byte_order_mark_inside_a_file_is_read_alike_split_or_not(member, settings):
    # cat a.jsonl b.jsonl, each with its mark: the second is inside the file.
    one = b"\xef\xbb\xbf" + b"".join(line(f"{FRENCH[i % 3]} {i}") + b"\n" for i in range(40))
    whole, split = split_and_whole(member, settings, [("big.jsonl", one + one.replace(b" 1", b" 9"))], len(one))
    assert split.parts_count > 1
    assert by_index(split) == by_index(whole) and split.report == whole.report


def test_a_lone_carriage_return_anywhere_keeps_the_line_numbers(member, settings):
    head = b"".join(line(f"{FRENCH[i % 3]} {i}") + b"\n" for i in range(400))  # past the first 64 KiB
    data = (head + line("stray") + b"\r" + line("cr") + b"\n"
            + b"".join(line(f"après {i} " + FRENCH[0]) + b"\n" for i in range(300)) + b"{bad\n")
    whole, split = split_and_whole(member, settings, [("big.jsonl", data), ("small.jsonl", line(FRENCH[1]))], 20_000)
    # The reader counts a lone CR as a line end: such a file is not cut.
    assert [part.end for part in split.parts.order_by("number")] == [len(data), None]
    assert by_index(split) == by_index(whole) and split.report["problems"] == whole.report["problems"]


def test_the_merge_holds_no_more_text_at_once_than_a_part_wrote(member, settings, monkeypatch):
    monkeypatch.setattr(pipeline, "BATCH_MAX_CHARS", 5_000)
    held = []
    renumbered = pipeline._renumbered

    def spy(table, *args):
        held.append(sum(table.column("chars").to_pylist()))
        return renumbered(table, *args)

    monkeypatch.setattr(pipeline, "_renumbered", spy)
    settings.ANALYSIS_PART_BYTES = 1000
    texts = "\n\n".join(f"{FRENCH[i % 3]} {i} " * 10 for i in range(200))
    _corpus, run = analysed(member, [("a.txt", texts, {"split": "blank_lines"}), ("b.txt", "x " * 600)])
    assert run.status == JobStatus.DONE and held
    assert max(held) < 2 * pipeline.BATCH_MAX_CHARS


def test_a_part_that_ends_while_the_run_looks_at_its_parts_still_wakes_it(member, settings, monkeypatch):
    settings.ANALYSIS_PART_BYTES = 2_000
    _corpus, run = submitted(member, [("big.jsonl", b"".join(line(f"{FRENCH[i % 3]} {i}") + b"\n" for i in range(60)))])
    assert job_run("analysis", run.pk) == Outcome.PARKED
    parts = list(run.parts.order_by("number"))
    for part in parts[:-1]:
        assert job_run("analysis_part", part.pk) == Outcome.DONE
    AnalysisRun.objects.filter(pk=run.pk).update(run_after=timezone.now())  # the safety re-check is due
    beat, ended = jobs.JobContext.beat, []

    def last_part_ends_meanwhile(self, *args, **kwargs):
        if self.kind.name == "analysis" and not ended:
            ended.append(job_run("analysis_part", parts[-1].pk))
        return beat(self, *args, **kwargs)

    monkeypatch.setattr(jobs.JobContext, "beat", last_part_ends_meanwhile)
    assert job_run("analysis", run.pk) == Outcome.PARKED and ended == [Outcome.DONE]
    run.refresh_from_db()
    assert run.run_after <= timezone.now()  # due at once, not in ten minutes
    monkeypatch.undo()
    assert job_run("analysis", run.pk) == Outcome.DONE


def test_removing_a_file_mid_analysis_leaves_no_part_shards(member, settings, django_capture_on_commit_callbacks):
    settings.ANALYSIS_PART_BYTES = 2_000
    big = b"".join(line(f"{FRENCH[i % 3]} {i}") + b"\n" for i in range(60))
    corpus, run = submitted(member, [("big.jsonl", big), ("small.jsonl", line(FRENCH[0]) + b"\n")])
    job_run("analysis", run.pk)
    part = run.parts.order_by("number").first()
    assert job_run("analysis_part", part.pk) == Outcome.DONE
    part.refresh_from_db()
    assert part.shards and all(default_storage.exists(name) for name in part.shards)
    with django_capture_on_commit_callbacks(execute=True):
        submissions.corpus_file_remove(corpus=corpus, actor=member, corpus_file=CorpusFile.objects.get(pk=part.file_id))
    run.refresh_from_db()
    assert run.status == JobStatus.CANCELLED
    assert not any(default_storage.exists(name) for name in part.shards)


def test_a_file_without_line_ends_is_one_part_read_once():
    import io

    from contributions.analysis.formats import line_ranges

    data = b'{"text": "' + b"a" * 100_000 + b'"}'
    assert line_ranges(io.BytesIO(data), size=len(data), part_bytes=1_000) == [(0, len(data))]
    data = b"\n".join([b'{"text": "' + b"a" * 3_000 + b'"}'] * 10) + b"\n"
    ranges = line_ranges(io.BytesIO(data), size=len(data), part_bytes=1_000)
    assert len(ranges) == 10 and all(data[start - 1 : start] == b"\n" for start, _end in ranges[1:])


# ---------------------------------------------------------------- edges (found by an attack on the merge as parts end)


def garbled(data: bytes, group: int) -> bytes:
    """A Parquet file whose row group ``group`` cannot be decoded."""
    import pyarrow.parquet as pq

    chunk = pq.ParquetFile(io.BytesIO(data)).metadata.row_group(group).column(0)
    broken = bytearray(data)
    for i in range(chunk.data_page_offset + 30, chunk.data_page_offset + chunk.total_compressed_size - 2):
        broken[i] = (broken[i] * 7 + 13) % 256
    return bytes(broken)


def test_a_part_that_fails_reports_lines_in_its_file_and_the_problems_before_it(member, settings):
    import pyarrow as pa
    import pyarrow.parquet as pq

    lines = [line(f"{FRENCH[i % 3]} {i}") for i in range(200)]
    lines[5], lines[150] = b"{bad", b"{bad too"
    big = b"\n".join(lines) + b"\n"
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": [f"{FRENCH[0]} {i}" for i in range(200)]}), buffer, row_group_size=20,
                   compression="none", use_dictionary=False)
    bad = garbled(buffer.getvalue(), 8)  # rows 161 to 180
    settings.ANALYSIS_PART_BYTES = 10**9
    _corpus, whole = analysed(member, [("big.jsonl", big), ("bad.parquet", bad)])
    settings.ANALYSIS_PART_BYTES = len(big) // 5
    settings.ANALYSIS_PARTS_IN_FLIGHT = 100
    split = reanalysed(whole)
    assert split.parts_count > 5
    assert whole.status == split.status == JobStatus.FAILED
    assert "bad.parquet" in message_render(whole.error) and "161" in message_render(whole.error)
    assert split.error == whole.error and split.report == whole.report
    assert [problem["line"] for problem in split.report["problems"]] == [6, 151]  # in the parts before it


def test_an_unknown_split_is_refused(member):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="découper"):
        add_file(make_corpus(member), "a.txt", "Un.\n\nDeux.", split="blank")


def test_a_separator_of_more_than_one_line_is_refused(member):
    from django.core.exceptions import ValidationError

    from contributions.analysis.formats import FormatOptions, document_boundary

    assert document_boundary(FormatOptions(split="separator", separator="---\n---")) is None
    with pytest.raises(ValidationError, match="une seule ligne"):
        add_file(make_corpus(member), "a.txt", "Un.\n---\n---\nDeux.", split="separator", separator="---\n---")


def test_a_worker_that_dies_between_two_merges_leaves_the_next_to_the_part_taken_over(member, settings, monkeypatch):
    settings.ANALYSIS_PART_BYTES = 10**9
    _corpus, whole = analysed(member, corpus_files())
    run = planned(whole, settings)
    parts = list(run.parts.order_by("number"))
    assert job_run("analysis_part", parts[1].pk) == Outcome.DONE  # waits for part 0 to be merged
    merge_part = pipeline._merge_part

    class Killed(BaseException):
        pass

    def killed_before_the_second(run, part, context):
        if part.number == 1:
            raise Killed
        return merge_part(run, part, context)

    monkeypatch.setattr(pipeline, "_merge_part", killed_before_the_second)
    with pytest.raises(Killed):
        job_run("analysis_part", parts[0].pk)  # merged its part, then died
    monkeypatch.undo()
    AnalysisPart.objects.filter(pk=parts[0].pk).update(heartbeat_at=timezone.now() - timedelta(days=1))
    assert job_run("analysis_part", parts[0].pk) == Outcome.DONE  # taken over
    run.refresh_from_db()
    assert run.merged_parts == 2  # the part after it too, not left for the end
    analysis_finished(run.pk)
    same_analysis(run, whole)


def test_a_split_analysis_counts_its_merged_shards_in_storage(member, settings):
    settings.ANALYSIS_PART_BYTES = 2_000
    _corpus, run = analysed(member, corpus_files())
    assert run.parts_count > 5
    assert run.storage_bytes >= sum(default_storage.size(name) for name in run.shards) > 0


def test_small_files_go_together_in_a_part(member, settings):
    files = [(f"f{i}.jsonl", line(f"{FRENCH[i % 3]} {i}") + b"\n" + line(FRENCH[0] + " 0") + b"\n") for i in range(40)]
    size = sum(len(content) for _name, content in files)
    whole, split = split_and_whole(member, settings, files, size // 4)
    parts = list(split.parts.order_by("number"))
    assert 4 <= len(parts) <= 5 and sum(part.file_count for part in parts) == 40
    assert by_index(split) == by_index(whole) and split.report == whole.report
    assert split.report["duplicates"]["exact_within"] == 40  # the first line of f0 in every file


# ---------------------------------------------------------------- CSV and TSV


def table_file(delimiter: str, rows: int = 160) -> bytes:
    """A table as spreadsheets and pandas write it: Windows line ends, a
    byte order mark, and text fields with quotes, delimiters and line
    breaks, some lines of which look like records of their own."""
    import csv

    rng = random.Random(5)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter)
    writer.writerow(["id", "text", "source"])
    for i in range(rows):
        if i == 30:
            out.write("\r\n")  # an empty line: no row
            continue
        if i == 70:
            out.write(f"{i}{delimiter}un seul champ de trop{delimiter}a{delimiter}b\r\n")  # a problem
            continue
        lines = [f"{rng.choice(FRENCH)} {i}.{j}" for j in range(rng.randint(1, 4))]
        if i % 3 == 0:
            lines.append(f'Il a dit « "oui" »{delimiter} puis :')
            lines.append(f"{i + 1}{delimiter}pas une ligne{delimiter}source {i}")  # inside the field
        text = "\n".join(lines)
        writer.writerow([i, FRENCH[0] + " 0" if i in (10, 150) else text, f"source {i}"])
    return b"\xef\xbb\xbf" + out.getvalue().encode()


@pytest.mark.parametrize(("name", "delimiter"), [("big.csv", ","), ("big.tsv", "\t")])
def test_a_large_csv_or_tsv_file_is_cut_between_records_with_the_same_result(member, settings, name, delimiter):
    data = table_file(delimiter)
    whole, split = split_and_whole(member, settings, [(name, data, {"text_column": "text"})], len(data) // 9)
    parts = list(split.parts.order_by("number"))
    assert len(parts) >= 6 and all(part.end is not None for part in parts)
    assert by_index(split) == by_index(whole) and split.report == whole.report
    assert whole.report["documents"] == 158  # no record cut in two, none read twice
    assert split.report["duplicates"]["exact_within"] == 1  # across parts
    assert [problem["line"] for problem in split.report["problems"]] == [
        problem["line"] for problem in whole.report["problems"]
    ] and split.report["problems"]
    assert all(data[part.start - 2 : part.start] == b"\r\n" for part in parts[1:])


def csv_parts(data: bytes, part_bytes: int = 1_000, fmt: str = "csv") -> list[tuple[int, int]]:
    from contributions.analysis.formats import FormatOptions, csv_ranges

    options = FormatOptions(split="", separator="", text_column="text")
    return csv_ranges(io.BytesIO(data), size=len(data), part_bytes=part_bytes, fmt=fmt, options=options)


def records(count: int, row: str = 'x,"Une ligne, puis ""une"" autre.\nEt la fin."\n') -> str:
    return "id,text\n" + row * count


@pytest.mark.parametrize(
    "data",
    [
        records(100) + 'y,un écran de 5" et plus\n' + records(100)[8:],  # a quote inside an unquoted field
        records(100) + 'y,"cité" puis la suite\n' + records(100)[8:],  # text after a closing quote
        records(100) + "y,un\x00nul\n" + records(100)[8:],  # the reader refuses a NUL
        records(100).replace("\n", "\r", 1),  # a lone carriage return
        "source," * 20_000 + "text\n" + records(100)[8:],  # a header past the first 64 KiB
        records(100).replace("text", "texte", 1),  # no text column: the one part says so
        records(100) + 'y,"' + "long " * 2_100_000 + '"\n' + records(100)[8:],  # longer than a field may be
        records(100) + 'y,"le champ ne finit jamais\n' + records(100)[8:],
    ],
    ids=["quote-in-field", "after-closing-quote", "nul", "lone-cr", "long-header", "no-column", "long-record",
         "unclosed"],
)
def test_a_csv_file_the_reader_might_read_otherwise_cut_is_one_part(data):
    encoded = data.encode()
    assert csv_parts(encoded) == [(0, len(encoded))]


def test_csv_ranges_start_where_the_reader_starts_a_record():
    import csv

    data = table_file(",", rows=400)
    text = data.decode("utf-8-sig")
    starts, position = set(), 0  # the byte where the reader starts each record
    lines = text.splitlines(keepends=True)
    reader = csv.reader(iter(lines))
    offsets = [3]
    for line_text in lines:
        offsets.append(offsets[-1] + len(line_text.encode()))
    for _row in reader:
        starts.add(offsets[position])
        position = reader.line_num
    for part_bytes in (500, 1_000, 3_333, 10_000):
        ranges = csv_parts(data, part_bytes)
        assert len(ranges) > len(data) // part_bytes // 2
        assert {start for start, _end in ranges[1:]} <= starts
        assert ranges[0][0] == 0 and ranges[-1][1] == len(data)
        assert all(a[1] == b[0] for a, b in zip(ranges, ranges[1:]))
    assert csv_parts(data, len(data)) == [(0, len(data))]


# ---------------------------------------------------------------- ZIP archives


def archive(members: list[tuple[str, bytes]], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    import stat

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as zf:
        for name, data in members:
            if name.startswith("link"):
                info = zipfile.ZipInfo(name)
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                zf.writestr(info, b"../../etc/passwd")
            else:
                zf.writestr(name, data)
    return buffer.getvalue()


def test_a_large_zip_archive_is_cut_between_members_with_the_same_result(member, settings):
    rng = random.Random(9)
    members = []
    for i in range(30):
        docs = [f"{rng.choice(FRENCH)} {i}.{j}" for j in range(rng.randint(5, 15))]
        if i in (0, 25):
            docs[2] = FRENCH[0] + " 0.0"  # the same document in the first member and far after
        members.append((f"part-{i:02}.jsonl", b"".join(line(doc) + b"\n" for doc in docs) + b"{bad\n"))
    members[10] = ("notes.txt", "\n\n".join(FRENCH).encode())
    members[12] = ("link-somewhere", b"")
    members[20] = ("table.csv", b"id,text\n1," + FRENCH[1].encode() + b"\n2,deux,colonnes\n")
    data = archive(members, compression=zipfile.ZIP_STORED)
    whole, split = split_and_whole(member, settings, [("corpus.zip", data, {"split": "blank_lines"})],
                                   len(data) // 8)
    parts = list(split.parts.order_by("number"))
    assert len(parts) >= 6 and all(part.end is not None for part in parts)
    assert by_index(split) == by_index(whole) and split.report == whole.report
    assert split.report["duplicates"]["exact_within"] == 1
    problems = split.report["problems"]
    assert {problem["source"] for problem in problems} >= {"corpus.zip/part-29.jsonl", "corpus.zip/link-somewhere"}
    assert max(problem["line"] or 0 for problem in problems) <= 16  # lines in each member


def test_zip_ranges_are_whole_members_and_a_broken_archive_is_one_part():
    from contributions.analysis.formats import zip_ranges

    data = archive([(f"m{i}.txt", FRENCH[i % 3].encode() * 20) for i in range(20)])
    ranges = zip_ranges(io.BytesIO(data), size=len(data), part_bytes=len(data) // 6)
    assert len(ranges) >= 4 and ranges[0][0] == 0 and ranges[-1][1] == len(data)
    assert all(data[start : start + 4] == b"PK\x03\x04" for start, _end in ranges[1:])  # a member's header
    assert zip_ranges(io.BytesIO(data[:-30]), size=len(data) - 30, part_bytes=100) == [(0, len(data) - 30)]


def test_a_worker_loads_the_language_model_before_it_forks_its_pool():
    from celery.signals import worker_init

    from contributions.analysis import text
    from openllm_site.celery import _warm_up

    # Sent in the worker's main process, before the pool starts.
    assert any(receiver() is _warm_up for _key, receiver in worker_init.receivers)
    text._language_model.cache_clear()
    _warm_up(sender=None)
    assert text._language_model.cache_info().currsize == 1


def test_a_cut_inside_a_record_of_many_quotes_or_lines_is_found_in_one_scan():
    # A cut wanted inside a record of 1.2 MB of empty quoted fields, then of
    # quoted line breaks: its end is found by scans in C, not by a step a
    # quote (which took 17 minutes on a record of 9.9 MB).
    for record in (b'"",' * 400_000 + b'"",1\n', b'"' + b"\n" * 1_200_000 + b'",1\n'):
        data = b"text,n\n" + b"x,1\n" * 1_000 + record + b"y,2\n" * 1_000
        end = len(b"text,n\n") + 4_000 + len(record)
        assert csv_parts(data, part_bytes=8_000) == [(0, end), (end, len(data))]


@pytest.mark.parametrize(
    "data",
    [
        b"text,n\n" + "Привет ђ,1\n".encode("cp1251") * 2_000,  # read as cp1252, where 0x90 means nothing
        b"\xef\xbb\xbftext,n\ncaf\xe9,1\n" + b"doc,1\n" * 2_000,  # a stray byte after a UTF-8 mark
    ],
    ids=["cp1251", "stray-byte"],
)
def test_a_csv_file_with_bytes_foreign_to_its_encoding_is_cut_as_it_is_read(member, settings, data):
    assert len(csv_parts(data, part_bytes=len(data) // 4)) >= 4
    whole, split = split_and_whole(member, settings, [("big.csv", data, {"text_column": "text"})], len(data) // 4)
    assert split.parts_count >= 4 and by_index(split) == by_index(whole) and split.report == whole.report


def test_zip_ranges_of_an_archive_the_reader_refuses_is_one_part():
    from contributions.analysis.formats import zip_ranges

    data = archive([(f"m{i}.txt", FRENCH[0].encode() * 20) for i in range(20)], zipfile.ZIP_STORED)
    end = data.rfind(b"PK\x05\x06")
    # A ZIP64 locator before the end of the directory, which says the
    # archive spans two disks: zipfile raises BadZipFile.
    locator = b"PK\x06\x07" + (0).to_bytes(4, "little") + (0).to_bytes(8, "little") + (2).to_bytes(4, "little")
    data = data[:end] + locator + data[end:]
    assert zip_ranges(io.BytesIO(data), size=len(data), part_bytes=1_000) == [(0, len(data))]


def test_the_parts_of_a_file_together_may_expand_no_more_than_the_file_read_whole(member, settings, monkeypatch):
    from contributions.analysis import formats

    # Each part gives less than the file may expand to, all of them more:
    # a bomb (a Parquet member's dictionary, say) spread over the parts.
    members = [(f"m{i}.jsonl", b"".join(line(f"{FRENCH[0]} {i}.{j}") + b"\n" for j in range(25))) for i in range(3)]
    data = archive(members, zipfile.ZIP_STORED)
    settings.ANALYSIS_PART_BYTES = 10**9
    _corpus, whole = submitted(member, [("corpus.zip", data)])
    # The text given counts, not the sizes the archive declares (as a
    # Parquet member's dictionary would hide them).
    monkeypatch.setattr(formats, "_expansion_limit", lambda size: 5_000)
    monkeypatch.setattr(formats, "_check_bomb", lambda *args: None)
    analysis_finished(whole.pk)
    whole.refresh_from_db()
    settings.ANALYSIS_PART_BYTES = len(data) // 3 - 100
    split = reanalysed(whole)
    assert split.parts_count == 3 and all(part.chars < 5_000 for part in split.parts.all())
    assert whole.status == split.status == JobStatus.FAILED
    assert "bombe de décompression" in message_render(whole.error) and split.error == whole.error
