"""Near-duplicates within a corpus: MinHash with LSH banding, in bounded
memory. Band keys and signatures go to files as documents stream by (one
file per band, so that reading a band touches nothing else); clusters are
found at the end, one band at a time."""

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


def bigram_hashes(word_hashes: list[int]) -> np.ndarray:
    """Hashes of word bigrams (single words make unrelated texts on one topic
    look alike), combined in numpy rather than built as strings."""
    h = np.asarray(word_hashes, dtype=np.uint64)
    return h[:-1] * np.uint64(1_000_003) ^ h[1:]


def signatures(texts: list[str], chunk: int = 64) -> np.ndarray:
    """MinHash signatures (NUM_PERM uint32 each) of the word-bigram sets of
    ``texts``. A text under MIN_WORDS words gets an all-zero signature, which
    the index ignores. Words are split a few texts at a time: a batch's
    words would weigh far more than its texts."""
    result = np.zeros((len(texts), NUM_PERM), dtype=np.uint32)
    for start in range(0, len(texts), chunk):
        word_lists = [text.split() for text in texts[start : start + chunk]]
        # rensa hashes the words the same way in every process (Python's
        # own string hash does not): signatures from different workers compare.
        word_hashes = rensa.RMinHash.hash_token_sets(word_lists)
        keep = [i for i, words in enumerate(word_lists) if len(words) >= MIN_WORDS]
        del word_lists
        if not keep:
            continue
        hashes = [bigram_hashes(word_hashes[i]) for i in keep]
        offsets = np.zeros(len(keep) + 1, dtype=np.uint64)
        np.cumsum([len(h) for h in hashes], out=offsets[1:])
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(np.concatenate(hashes), offsets, NUM_PERM, SEED)
        result[[start + i for i in keep]] = np.asarray(matrix.to_rows(), dtype=np.uint32)
    return result


class NearDuplicateIndex:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._docs = (directory / "docs.bin").open("wb")
        self._signatures = (directory / "signatures.bin").open("wb")
        self._bands = [(directory / f"band-{b:02d}.bin").open("wb") for b in range(BANDS)]
        self.count = 0

    def add(self, docs: np.ndarray | list[int], signatures_: np.ndarray) -> None:
        """Index documents (in increasing order) by their signatures."""
        signatures_ = np.asarray(signatures_, dtype=np.uint32).reshape(-1, NUM_PERM)
        docs = np.asarray(docs, dtype=np.int64)
        present = signatures_.any(axis=1)
        docs, signatures_ = docs[present], signatures_[present]
        if not len(docs):
            return
        docs.tofile(self._docs)
        signatures_.tofile(self._signatures)
        # Multiply-add hashing of each band's rows; uint64 arithmetic wraps.
        bands = signatures_.astype(np.uint64).reshape(-1, BANDS, ROWS)
        keys = (bands * _COEFFICIENTS).sum(axis=2, dtype=np.uint64)
        for band, out in enumerate(self._bands):
            np.ascontiguousarray(keys[:, band]).tofile(out)
        self.count += len(docs)

    def duplicates(self) -> dict[int, int]:
        """{document: the first document of its cluster} for every document
        that is not the first of its cluster."""
        for handle in [self._docs, self._signatures, *self._bands]:
            handle.close()
        if not self.count:
            return {}
        docs = np.fromfile(self.directory / "docs.bin", dtype=np.int64)
        signature_file = (self.directory / "signatures.bin").open("rb")
        row_bytes = NUM_PERM * 4

        def signature(i: int) -> np.ndarray:
            # Read, not mapped: mapped pages would count in the worker's
            # memory for the whole file.
            signature_file.seek(i * row_bytes)
            return np.frombuffer(signature_file.read(row_bytes), dtype=np.uint32)
        parent = np.arange(len(docs))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for band in range(BANDS):
            keys = np.fromfile(self.directory / f"band-{band:02d}.bin", dtype=np.uint64)
            order = np.argsort(keys, kind="stable")
            sorted_keys = keys[order]
            same = np.flatnonzero(sorted_keys[1:] == sorted_keys[:-1]) + 1
            for position in same:
                i, j = int(order[position - 1]), int(order[position])
                a, b = root(i), root(j)
                if a != b and np.mean(signature(i) == signature(j)) >= THRESHOLD:
                    parent[max(a, b)] = min(a, b)
        signature_file.close()
        result = {}
        for i in range(len(docs)):
            r = root(i)
            if r != i:
                result[int(docs[i])] = int(docs[r])
        return result
