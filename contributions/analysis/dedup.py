"""Near-duplicates within a corpus: MinHash with LSH banding, in bounded
memory. Band keys go to a file as documents stream by; clusters are found at
the end, one band at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rensa

NUM_PERM = 128
BANDS, ROWS = 16, 8  # two documents collide in some band above ~0.7 Jaccard
SEED = 1234
MIN_WORDS = 5
# Banding also pairs some documents far below the threshold; each candidate
# pair is checked on its whole signature.
THRESHOLD = 0.75
_COEFFICIENTS = np.random.default_rng(SEED).integers(1, 2**63 - 1, size=ROWS, dtype=np.uint64) | np.uint64(1)
_RECORD = np.dtype([("doc", "<i8"), ("keys", "<u8", (BANDS,)), ("signature", "<u4", (NUM_PERM,))])


def shingle_hashes(words: list[str]) -> np.ndarray:
    """Hashes of word bigrams (single words make unrelated texts on one topic
    look alike), combined in numpy rather than built as strings. Python's
    string hash differs between processes, which is fine: keys are only
    compared within one index."""
    h = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
    return h[:-1] * np.uint64(1_000_003) ^ h[1:]


class NearDuplicateIndex:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._out = path.open("wb")
        self._pending_docs: list[int] = []
        self._pending_tokens: list[np.ndarray] = []
        self.count = 0

    def add(self, doc_index: int, words: list[str]) -> None:
        if len(words) < MIN_WORDS:
            return
        self._pending_docs.append(doc_index)
        self._pending_tokens.append(shingle_hashes(words))
        if len(self._pending_docs) >= 1000:
            self.flush()

    def flush(self) -> None:
        if not self._pending_docs:
            return
        offsets = np.zeros(len(self._pending_tokens) + 1, dtype=np.uint64)
        np.cumsum([len(t) for t in self._pending_tokens], out=offsets[1:])
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            np.concatenate(self._pending_tokens), offsets, NUM_PERM, SEED
        )
        signatures = np.asarray(matrix.to_rows(), dtype=np.uint32)
        records = np.empty(len(self._pending_docs), dtype=_RECORD)
        records["doc"] = self._pending_docs
        records["signature"] = signatures
        # Multiply-add hashing of each band's rows; uint64 arithmetic wraps.
        bands = signatures.astype(np.uint64).reshape(-1, BANDS, ROWS)
        records["keys"] = (bands * _COEFFICIENTS).sum(axis=2, dtype=np.uint64)
        records.tofile(self._out)
        self.count += len(records)
        self._pending_docs, self._pending_tokens = [], []

    def duplicates(self) -> dict[int, int]:
        """{document: the first document of its cluster} for every document
        that is not the first of its cluster."""
        self.flush()
        self._out.close()
        if not self.count:
            return {}
        records = np.memmap(self.path, dtype=_RECORD, mode="r")
        docs = np.asarray(records["doc"])
        parent = np.arange(len(docs))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for band in range(BANDS):
            keys = np.asarray(records["keys"][:, band])
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            same = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1]) + 1
            for position in same:
                i, j = int(order[position - 1]), int(order[position])
                a, b = root(i), root(j)
                if a != b and np.mean(records["signature"][i] == records["signature"][j]) >= THRESHOLD:
                    parent[max(a, b)] = min(a, b)
        result = {}
        for i in range(len(docs)):
            r = root(i)
            if r != i:
                result[int(docs[i])] = int(docs[r])
        return result
