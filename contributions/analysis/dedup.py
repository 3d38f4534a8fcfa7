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


def shingle_hashes(words: list[str]) -> np.ndarray:
    """Hashes of word bigrams (single words make unrelated texts on one topic
    look alike), combined in numpy rather than built as strings. Python's
    string hash differs between processes, which is fine: keys are only
    compared within one index."""
    h = np.fromiter(map(hash, words), dtype=np.int64, count=len(words)).view(np.uint64)
    return h[:-1] * np.uint64(1_000_003) ^ h[1:]


def signatures(word_lists: list[list[str]]) -> np.ndarray:
    """MinHash signatures (NUM_PERM uint32 each) of word-bigram sets, in one
    call for a batch of documents. A document under MIN_WORDS words gets an
    all-zero signature, which the index ignores."""
    hashes = [shingle_hashes(words) if len(words) >= MIN_WORDS else np.empty(0, np.uint64) for words in word_lists]
    result = np.zeros((len(word_lists), NUM_PERM), dtype=np.uint32)
    keep = [i for i, h in enumerate(hashes) if len(h)]
    if keep:
        offsets = np.zeros(len(keep) + 1, dtype=np.uint64)
        np.cumsum([len(hashes[i]) for i in keep], out=offsets[1:])
        matrix = rensa.RMinHash.digest_matrix_from_flat_token_hashes(
            np.concatenate([hashes[i] for i in keep]), offsets, NUM_PERM, SEED
        )
        result[keep] = np.asarray(matrix.to_rows(), dtype=np.uint32)
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
