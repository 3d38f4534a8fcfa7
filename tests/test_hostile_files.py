"""Files built to hurt the readers: headers, footers and directories that
claim huge sizes, decompression bombs, names too long for the file system,
records nested or stretched beyond reason. Memory stays bounded whatever a
file claims, the web request only runs bounded checks, and a bad record is
skipped and listed rather than failing the corpus.

Memory is measured where it is real: in a child process (its peak resident
size) for the readers, with tracemalloc for a request in this process."""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import tarfile
import time
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.urls import reverse
from django.utils import translation

from contributions.analysis import formats
from contributions.analysis.formats import (
    FileRejected,
    FormatOptions,
    Problem,
    RawDoc,
    ReadProgress,
    buffered,
    read_documents,
)
from contributions.analysis.pipeline import DocumentAnalyzer
from contributions.jobs import job_run
from contributions.models import AnalysisRun, CorpusFile, CorpusStatus, JobStatus
from contributions.texts import message_render

from .corpora import FRENCH, analysed, jsonl, make_corpus, parquet, shard_rows, upload

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024**2


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


# ---------------------------------------------------------------- measuring

CHILD = r"""
import json, os, resource, sys
from django.conf import settings
settings.configure(USE_I18N=False)
import pyarrow.parquet  # loaded before measuring, as in a worker
from contributions.analysis.formats import FileRejected, FormatOptions, Problem, buffered, read_documents

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

path, name, fmt = sys.argv[1:4]
result = {"documents": 0, "problems": [], "rejected": None}
before = peak()
with open(path, "rb") as handle:
    stream, _counter = buffered(handle)
    try:
        items = read_documents(stream, name=name, fmt=fmt, options=FormatOptions(), size=os.path.getsize(path))
        for item in items:
            if isinstance(item, Problem):
                result["problems"].append(str(item))
            else:
                result["documents"] += 1
    except FileRejected as exc:
        result["rejected"] = str(exc)
result["growth"] = peak() - before
print(json.dumps(result))
"""


def read_in_child(tmp_path: Path, name: str, content: bytes) -> dict:
    """Reads a file through read_documents in a fresh Python process; returns
    what came out and how much its peak memory grew while reading."""
    path = tmp_path / "hostile.bin"
    path.write_bytes(content)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), name, formats.format_of(name)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["seconds"] = time.monotonic() - started
    return result


def peak_python_memory(call) -> tuple[object, int]:
    tracemalloc.start()
    try:
        result = call()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def post_files(client, corpus, *files):
    return client.post(
        reverse("contributions:corpus_upload", args=[corpus.pk]),
        {"split": "file", "text_column": "text", "files": list(files)},
        follow=True,
        headers={"accept-language": "en"},
    )


def shown(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# ---------------------------------------------------------------- tar.gz headers


def tar_header(name: str, kind: bytes, size: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type, info.size = kind, size
    return info.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape")


def tar_gz(*pieces: bytes, zeros: int = 0) -> bytes:
    """A gzip stream of ``pieces`` with ``zeros`` zero bytes after the first,
    compressed as they come: a few hundred kB hold hundreds of MB."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    out = [compressor.compress(pieces[0])]
    chunk = bytes(MiB)
    for _ in range(zeros // MiB):
        out.append(compressor.compress(chunk))
    out.extend(compressor.compress(piece) for piece in pieces[1:])
    out.append(compressor.flush())
    return b"".join(out)


def regular_member(name: str, data: bytes) -> bytes:
    return tar_header(name, tarfile.REGTYPE, len(data)) + data + bytes(-len(data) % 512) + bytes(1024)


CLAIM = 128 * MiB

HEADER_BOMBS = {
    "gnu-long-name": tarfile.GNUTYPE_LONGNAME,
    "gnu-long-link": tarfile.GNUTYPE_LONGLINK,
    "pax-extended": tarfile.XHDTYPE,
    "pax-global": tarfile.XGLTYPE,
}


def header_bomb(kind: bytes) -> bytes:
    # The header claims 128 MiB, and that many zero bytes follow.
    return tar_gz(tar_header("././@LongLink", kind, CLAIM), regular_member("ok.txt", FRENCH[0].encode()), zeros=CLAIM)


@pytest.mark.parametrize("kind", HEADER_BOMBS.values(), ids=HEADER_BOMBS.keys())
def test_tar_header_claiming_128_mib_is_refused_before_it_is_read(tmp_path, kind):
    content = header_bomb(kind)
    assert len(content) < 300_000
    result = read_in_child(tmp_path, "bomb.tar.gz", content)
    assert result["rejected"] and result["rejected"].startswith("bomb.tar.gz: extended header of 134,217,728 bytes")
    assert result["growth"] < 32 * MiB, result


def test_chained_tar_headers_are_refused(tmp_path):
    # Each pax header makes tarfile read the next one inside the first: a
    # chain of them ran out of stack (RecursionError, an internal error).
    record = b"20 comment=xxxxxxxx\n"
    pax = tar_header("././@PaxHeader", tarfile.XHDTYPE, len(record)) + record + bytes(512 - len(record))
    content = tar_gz(pax * 2000 + regular_member("ok.txt", FRENCH[0].encode()))
    result = read_in_child(tmp_path, "chain.tar.gz", content)
    assert result["rejected"] == "chain.tar.gz: more than 8 extended headers in a row"


def test_tar_sparse_map_without_end_is_refused(tmp_path):
    # An old GNU sparse header says "another block of the map follows" in
    # every block: tarfile kept reading and collecting them.
    header = bytearray(tar_header("sparse.txt", tarfile.GNUTYPE_SPARSE, 0))
    header[482] = 1  # extended
    header[148:156] = b" " * 8
    header[148:156] = b"%06o\0 " % sum(header)
    block = bytearray(b"".join(b"%011o\0%011o\0" % (i + 1, 1) for i in range(21)).ljust(512, b"\0"))
    block[504] = 1
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)
    content = compressor.compress(bytes(header)) + b"".join(
        compressor.compress(bytes(block) * 2048) for _ in range(64)
    )
    content += compressor.flush()
    result = read_in_child(tmp_path, "sparse.tar.gz", content)
    assert result["rejected"] == "sparse.tar.gz: extended header of 66,048 bytes (at most 65,536): not read"
    assert result["growth"] < 32 * MiB, result


def test_tar_gz_upload_is_checked_without_reading_the_archive(client, member):
    # The request only looks at the first bytes; the worker reads the
    # archive, and refuses it with a message naming it.
    content = header_bomb(tarfile.GNUTYPE_LONGNAME)
    corpus = make_corpus(member)
    client.force_login(member)
    # Reading the 128 MB header would show in the memory; no timing here
    # (a loaded machine would make it fail for nothing).
    response, peak = peak_python_memory(lambda: post_files(client, corpus, upload("bomb.tar.gz", content)))
    assert response.status_code == 200
    assert shown(response) == ["1 file added."]
    assert peak < 16 * MiB
    run = _submit(corpus, member)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED
    assert message_render(run.error).startswith("bomb.tar.gz: extended header of 134,217,728 bytes")


def _submit(corpus, member) -> AnalysisRun:
    from contributions import submissions

    run = submissions.corpus_submit(corpus=corpus, actor=member)
    job_run("analysis", run.id)
    return run


def test_tar_bomb_of_skipped_members_is_refused():
    # A member the reader never opens (here of an unsupported type) is still
    # decompressed to reach the next header: counted all the same.
    content = tar_gz(tar_header("zeros.bin", tarfile.REGTYPE, 256 * MiB), zeros=256 * MiB)
    with pytest.raises(FileRejected, match="decompression bomb"):
        list(_read(content, "zeros.tar.gz"))


def _read(content: bytes, name: str, progress: ReadProgress | None = None, **options):
    stream, _counter = buffered(io.BytesIO(content))
    return read_documents(
        stream,
        name=name,
        fmt=formats.format_of(name),
        options=FormatOptions(**options),
        size=len(content),
        progress=progress,
    )


# ---------------------------------------------------------------- ZIP directories


def zip_directory(entries: int, declared: int | None = None) -> bytes:
    """A ZIP made of a central directory only (members are never read when
    an archive is opened): ``entries`` entries of one-letter names."""
    local = struct.pack(zipfile.structFileHeader, b"PK\x03\x04", 20, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0) + b"a"
    entry = struct.pack(zipfile.structCentralDir, b"PK\x01\x02", 20, 3, 20, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0)
    directory = (entry + b"a") * entries
    count = min(declared if declared is not None else entries, 0xFFFF)
    end = struct.pack(zipfile.structEndArchive, b"PK\x05\x06", 0, 0, count, count, len(directory), len(local), 0)
    return local + directory + end


def test_zip_directory_of_400_000_entries_is_refused_before_it_is_read(tmp_path):
    # zipfile reads the whole directory and makes an object of every entry:
    # 19 MB of entries took hundreds of MB.
    result = read_in_child(tmp_path, "many.zip", zip_directory(400_000))
    assert result["rejected"] == "many.zip: the archive's table of contents is 18,800,000 bytes (at most 8,388,608)"
    assert result["growth"] < 16 * MiB, result


def test_zip_directory_entries_are_counted_not_taken_from_the_end_record(client, member):
    # The end record says 5 entries; the directory holds 10,001.
    corpus = make_corpus(member)
    client.force_login(member)
    lies = zip_directory(10_001, declared=5)
    response, peak = peak_python_memory(lambda: post_files(client, corpus, upload("lies.zip", lies)))
    assert shown(response) == ["lies.zip: more than 10,000 files in the archive"]
    assert peak < 16 * MiB
    assert not CorpusFile.objects.exists()


def test_zip_members_compressed_with_bzip2_or_lzma_are_skipped():
    # zipfile hands whole compressed chunks to these decompressors, which
    # expand them without a bound.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("a.txt", FRENCH[0], compress_type=zipfile.ZIP_DEFLATED)
        archive.writestr("b.txt", FRENCH[1], compress_type=zipfile.ZIP_BZIP2)
        archive.writestr("c.txt", FRENCH[2], compress_type=zipfile.ZIP_LZMA)
    items = list(_read(buffer.getvalue(), "mixed.zip"))
    assert [i.text for i in items if isinstance(i, RawDoc)] == [FRENCH[0]]
    assert [str(i) for i in items if isinstance(i, Problem)] == [
        f"mixed.zip/{name}: compression method {method} is not supported: use the usual one (Deflate)"
        for name, method in [("b.txt", "bzip2"), ("c.txt", "lzma")]
    ]


# ---------------------------------------------------------------- Parquet


def dictionary_parquet(rows: int, value: str) -> bytes:
    """A plain text column whose every row is ``value``: Parquet stores it
    once, in the column's dictionary, and the file is a few kB."""
    indices = pa.repeat(pa.scalar(0, pa.int32()), rows)
    buffer = io.BytesIO()
    table = pa.table({"text": pa.DictionaryArray.from_arrays(indices, pa.array([value]))})
    pq.write_table(table, buffer, store_schema=False, compression="zstd")  # read back as plain strings
    return buffer.getvalue()


def test_parquet_with_more_rows_than_bytes_is_refused_before_reading():
    content = dictionary_parquet(2_000_000, "x" * 10_000)
    assert len(content) < 50_000

    def read():
        with pytest.raises(FileRejected) as refused:
            next(_read(content, "rows.parquet"))
        return refused

    # Before reading: a row of it would take memory (measured, not timed).
    refused, peak = peak_python_memory(read)
    assert str(refused.value) == f"rows.parquet: decompression bomb: 2,000,000 rows in {len(content):,} bytes"
    assert peak < 16 * MiB


def test_parquet_text_expanding_beyond_the_limit_is_refused(tmp_path):
    # 60,000 rows of one 10 kB dictionary string: 600 MB of text from a few
    # kB. Reading stops once the text passes what the file may expand to.
    content = dictionary_parquet(60_000, "é" * 10_000)
    result = read_in_child(tmp_path, "bomb.parquet", content)
    assert result["rejected"] == (
        f"bomb.parquet: decompression bomb: {len(content):,} bytes give more than 104,857,600 characters of text"
    )
    assert result["documents"] < 11_000
    assert result["growth"] < 64 * MiB, result


def test_parquet_batches_stay_small_when_every_row_repeats_a_long_entry(tmp_path):
    # 300 rows of one 1 MB string, in 300 bytes: a batch of 256 rows was
    # decoded at once (650 MB) before anything could be counted.
    content = dictionary_parquet(300, "a" * 1_000_000)
    assert len(content) < 1000
    result = read_in_child(tmp_path, "long.parquet", content)
    assert result["rejected"].startswith("long.parquet: decompression bomb")
    assert result["growth"] < 64 * MiB, result


def parquet_footer_bomb(chunks: int) -> bytes:
    """A Parquet file whose footer (Thrift metadata) holds ``chunks`` column
    chunks of three bytes each: pyarrow builds a ~700-byte object for each."""

    def varint(n: int) -> bytes:
        out = bytearray()
        while True:
            out.append((n & 0x7F) | (0x80 if n >> 7 else 0))
            n >>= 7
            if not n:
                return bytes(out)

    row_group = b"\x19\xfc" + varint(chunks) + b"\x26\x00\x00" * chunks + b"\x16\x00\x16\x00\x00"
    footer = b"\x15\x02\x19\x0c\x16\x02\x19\x1c" + row_group + b"\x00"
    return b"PAR1" + footer + struct.pack("<I", len(footer)) + b"PAR1"


def test_parquet_footer_with_too_many_entries_is_refused_before_pyarrow_reads_it(tmp_path):
    result = read_in_child(tmp_path, "meta.parquet", parquet_footer_bomb(300_000))
    assert result["rejected"] == (
        "meta.parquet: Parquet metadata with more than 200,000 entries: write it with fewer, larger row groups"
    )
    assert result["growth"] < 32 * MiB, result


def test_parquet_footer_list_longer_than_its_bytes_is_refused(tmp_path):
    # 30 bytes of footer claiming a million schema entries: pyarrow made
    # room for all of them before reading the first.
    footer = b"\x15\x02\x19\xfc\xc0\x84\x3d" + bytes(16)
    content = b"PAR1" + footer + struct.pack("<I", len(footer)) + b"PAR1"
    result = read_in_child(tmp_path, "claim.parquet", content)
    assert result["rejected"] == "claim.parquet: unreadable Parquet file"
    assert result["growth"] < 16 * MiB, result


def test_parquet_upload_with_a_large_footer_is_left_to_the_worker(client, member):
    corpus = make_corpus(member)
    client.force_login(member)
    response, peak = peak_python_memory(
        lambda: post_files(client, corpus, upload("meta.parquet", parquet_footer_bomb(100_000)))
    )
    assert shown(response) == ["1 file added."]
    assert peak < 16 * MiB
    run = _submit(corpus, member)
    run.refresh_from_db()
    assert run.status == JobStatus.FAILED and message_render(run.error).startswith("meta.parquet: unreadable Parquet")


def test_read_progress_follows_what_is_really_read():
    content = parquet([f"Document {i}." for i in range(1000)])
    progress = ReadProgress()
    seen = []
    for _item in _read(content, "a.parquet", progress):
        seen.append(progress.done)
    assert progress.total == len(content) and progress.done == len(content)
    assert seen == sorted(seen) and 0 < seen[0] < seen[500] < seen[-1] <= len(content)

    content = "\n\n".join(FRENCH * 20_000).encode()
    progress = ReadProgress()
    seen = [progress.done for _item in _read(content, "a.txt", progress, split="blank_lines")]
    assert progress.done == progress.total == len(content)
    assert 0 < seen[0] < len(content) and seen == sorted(seen)


# ---------------------------------------------------------------- names


def test_a_name_over_255_bytes_is_stored_under_a_shorter_one(client, member):
    # 250 "é": under 255 characters, 500 bytes; the file system says no.
    name = "é" * 250 + ".txt"
    corpus = make_corpus(member)
    client.force_login(member)
    response = post_files(client, corpus, upload(name, FRENCH[0]))
    assert shown(response) == ["1 file added."]
    stored = CorpusFile.objects.get()
    assert stored.original_name == name
    basename = Path(stored.file.name).name
    assert basename.endswith(".txt") and len(basename.encode()) <= 100
    assert basename.removesuffix(".txt").strip("é") == ""  # no character cut in two
    with stored.file.open("rb") as handle:
        assert handle.read() == FRENCH[0].encode()


def test_a_long_name_keeps_its_double_extension():
    name = "é" * 300 + ".tar.gz"
    shortened = formats.short_name(name)
    assert len(shortened) == 255 and shortened.endswith(".tar.gz")
    assert formats.short_name(name, max_bytes=100) == "é" * 46 + ".tar.gz"
    assert formats.short_name("a" * 300 + ".TGZ", max_chars=20) == "a" * 16 + ".TGZ"


def test_a_10000_character_name_in_the_form_is_refused_with_a_message(client, member):
    corpus = make_corpus(member)
    client.force_login(member)
    boundary = "hostile-boundary"
    name = "a" * 10_000 + ".txt"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="split"\r\n\r\nfile\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: text/plain\r\n\r\n{FRENCH[0]}\r\n--{boundary}--\r\n"
    ).encode()
    response = client.post(
        reverse("contributions:corpus_upload", args=[corpus.pk]),
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
        headers={"accept-language": "en"},
    )
    assert response.status_code == 400
    assert "a file name too long" in response.content.decode()
    assert not CorpusFile.objects.exists()


def test_a_long_extension_on_a_large_upload_is_not_a_server_error(client, member):
    # Large uploads go to a temporary file named after the extension.
    name = "x." + "é" * 200
    corpus = make_corpus(member)
    client.force_login(member)
    client.raise_request_exception = False
    response = post_files(client, corpus, upload(name, b"Bonjour. " * 400_000))
    assert response.status_code == 200
    [message] = shown(response)
    assert message.startswith("x.éé") and "unsupported file type" in message
    assert not CorpusFile.objects.exists()


# ---------------------------------------------------------------- JSON nesting


def nested(depth: int) -> bytes:
    return b'{"text": "' + FRENCH[1].encode() + b'", "meta": ' + b"[" * depth + b"]" * depth + b"}\n"


def test_deeply_nested_json_records_are_skipped_and_listed(tmp_path):
    content = jsonl(FRENCH[0]) + nested(300) + nested(1023) + nested(5000) + jsonl(FRENCH[2], source={"a": [1]})
    items = list(_read(content, "deep.jsonl"))
    problems = [(p.line, message_render(p.message)) for p in items if isinstance(p, Problem)]
    assert problems[:2] == [(line, "record nested more than 32 levels deep: skipped") for line in (2, 3)]
    assert problems[2][0] == 4 and problems[2][1].startswith("invalid JSON")
    docs = [d for d in items if isinstance(d, RawDoc)]
    assert [d.line for d in docs] == [1, 5]
    # As the pipeline does: every kept document's metadata is written back.
    analyzer = DocumentAnalyzer(workdir=tmp_path, seed="deep")
    rows = list(analyzer.rows(docs))
    assert [orjson.loads(row["meta"]) if row["meta"] else None for row in rows] == [None, {"source": {"a": [1]}}]


def test_a_deeply_nested_record_does_not_fail_the_corpus(member):
    corpus, run = analysed(member, [("deep.jsonl", jsonl(FRENCH[0]) + nested(300) + jsonl(FRENCH[2]))])
    assert run.status == JobStatus.DONE and corpus.status == CorpusStatus.AWAITING_REVIEW
    assert [r["text"] for r in shard_rows(run)] == [FRENCH[0], FRENCH[2]]
    assert [{**p, "message": message_render(p["message"])} for p in run.report["problems"]] == [
        {"source": "deep.jsonl", "line": 2, "message": "record nested more than 32 levels deep: skipped"}
    ]


# ---------------------------------------------------------------- long CSV lines


def test_a_60_mb_csv_line_is_skipped_without_holding_it(tmp_path):
    line = b'3,"' + b"a" * (60 * MiB) + b'"\n'
    content = b"id,text\n1,Premier\n2,Second\n" + line + b"4,Dernier\n"
    stream, _counter = buffered(io.BytesIO(content))
    items, peak = peak_python_memory(
        lambda: list(read_documents(stream, name="big.csv", fmt="csv", options=FormatOptions(), size=len(content)))
    )
    assert [(d.line, d.text) for d in items if isinstance(d, RawDoc)] == [(2, "Premier"), (3, "Second"), (5, "Dernier")]
    assert [str(p) for p in items if isinstance(p, Problem)] == [
        "big.csv, line 4: row longer than 11,000,000 characters: skipped"
    ]
    assert peak < 30 * MiB, peak


def test_csv_quoted_fields_over_several_lines(monkeypatch):
    monkeypatch.setattr(formats, "MAX_RECORD_CHARS", 200)
    long_field = "\n".join(["Une ligne de texte assez longue."] * 10)  # 329 characters
    content = (
        'text,id\n"Premier\nsur deux lignes",1\n'
        f'"{long_field}",2\n'
        '"Troisième, avec ""guillemets""\net retour",3\n'
    ).encode()
    items = list(_read(content, "multi.csv"))
    assert [(d.line, d.text) for d in items if isinstance(d, RawDoc)] == [
        (2, "Premier\nsur deux lignes"),
        (14, 'Troisième, avec "guillemets"\net retour'),
    ]
    assert [str(p) for p in items if isinstance(p, Problem)] == [
        "multi.csv, line 4: row longer than 200 characters: skipped"
    ]


def test_csv_header_line_is_read_with_a_bound(client, member):
    corpus = make_corpus(member)
    client.force_login(member)
    content = b"a" * (3 * MiB) + b",text\n1,Bonjour\n"
    response, peak = peak_python_memory(lambda: post_files(client, corpus, upload("wide.csv", content)))
    assert shown(response) == ["wide.csv, line 1: header line longer than 1,048,576 characters"]
    assert peak < 16 * MiB


def test_parquet_from_a_categorical_column_is_text():
    buffer = io.BytesIO()
    pq.write_table(pa.table({"text": pa.array(FRENCH).dictionary_encode(), "site": pa.array(["a", "b", "a"])}), buffer)
    docs = list(_read(buffer.getvalue(), "cat.parquet"))
    assert [(d.text, d.meta["site"]) for d in docs] == [(FRENCH[0], "a"), (FRENCH[1], "b"), (FRENCH[2], "a")]


def test_an_ordinary_corpus_still_reads_in_full(member):
    corpus, run = analysed(
        member,
        [
            ("a.csv", 'text,id\n"' + FRENCH[0] + '",1\n'),
            ("b.parquet", parquet([FRENCH[1]], year=[2001])),
            ("c.jsonl", jsonl(FRENCH[2], source={"site": "x", "tags": ["a", "b"]})),
        ],
    )
    assert corpus.status == CorpusStatus.AWAITING_REVIEW
    rows = sorted(shard_rows(run), key=lambda r: r["doc_index"])
    assert [r["text"] for r in rows] == FRENCH
    assert [json.loads(r["meta"]) for r in rows] == [
        {"id": "1"},
        {"year": 2001},
        {"source": {"site": "x", "tags": ["a", "b"]}},
    ]


def _parquet_bytes(table: pa.Table) -> bytes:
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def test_two_text_columns_of_the_same_name_get_a_message_not_a_500(client, member):
    texts = pa.array(FRENCH)
    data = _parquet_bytes(pa.Table.from_arrays([texts, texts], names=["text", "text"]))
    corpus = make_corpus(member)
    client.force_login(member)
    response = post_files(client, corpus, upload("double.parquet", data))
    assert response.status_code == 200
    assert 'double.parquet: 2 columns are named "text": keep one' in [str(m) for m in response.context["messages"]]
    assert not CorpusFile.objects.filter(corpus=corpus).exists()


def test_a_metadata_column_named_twice_is_left_out():
    sources = pa.array(["a", "b", "c"])
    table = pa.Table.from_arrays([pa.array(FRENCH), sources, sources], names=["text", "source", "source"])
    data = _parquet_bytes(table)
    docs = list(_read(data, "meta.parquet"))
    assert [(d.text, d.meta) for d in docs] == [(text, {}) for text in FRENCH]


def test_corrupt_deflate_data_is_a_problem_of_that_member(member):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("bon.txt", FRENCH[0])
        archive.writestr("abime.txt", " ".join(FRENCH * 20))
    data = bytearray(buffer.getvalue())
    start = data.index(b"abime.txt") + len("abime.txt")
    data[start + 20:start + 60] = bytes(40)  # inside the compressed data of the second member
    corpus, run = analysed(member, [("archive.zip", bytes(data))])
    assert corpus.status == CorpusStatus.AWAITING_REVIEW, run.error
    assert [r["text"] for r in shard_rows(run)] == [FRENCH[0]]
    [problem] = run.report["problems"]
    assert problem["source"] == "archive.zip/abime.txt" and message_render(problem["message"]).startswith("unreadable")
