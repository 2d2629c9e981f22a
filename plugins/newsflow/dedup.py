"""Content fingerprints: an exact body hash and a 64-bit SimHash over shingles, so copies of a wire story can be
found across URLs and sources (sql/loads/05_mark_duplicates.sql links copies within 3 bits).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

_WORD = re.compile(r"\w+", re.UNICODE)


def normalise_body(body: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", body).split())


def body_hash(body: str) -> str:
    return hashlib.sha256(normalise_body(body).encode("utf-8")).hexdigest()


def _shingles(text: str) -> list[str]:
    words = _WORD.findall(text.casefold())
    # scripts written without spaces (Chinese, Japanese) give few long "words": use character 4-grams instead
    if words and sum(map(len, words)) / len(words) > 12:
        chars = "".join(words)
        return [chars[i : i + 4] for i in range(max(1, len(chars) - 3))]
    if len(words) < 3:
        return words
    return list(map(" ".join, zip(words, words[1:], words[2:], strict=False)))


def simhash(body: str) -> int:
    import numpy as np

    shingles = _shingles(body)
    if not shingles:
        return 0
    digests = b"".join(_digests(shingles))
    # bit b of every (little-endian) hash, as a (shingles x 64) 0/1 matrix: vote per bit column
    bits = np.unpackbits(np.frombuffer(digests, dtype=np.uint8).reshape(-1, 8), axis=1, bitorder="little")
    votes = bits.sum(axis=0, dtype=np.int64) * 2 - len(shingles)
    return int(sum(1 << i for i in np.nonzero(votes > 0)[0].tolist()))


def _digests(shingles: list[str]) -> list[bytes]:
    """The 8-byte BLAKE2b digest of each shingle's UTF-8. Copying one prepared hasher per shingle is a third cheaper
    than constructing one (which parses its keyword arguments every time), and hashes the same."""
    copy = hashlib.blake2b(digest_size=8).copy
    out = []
    append = out.append
    for shingle in shingles:
        hasher = copy()
        hasher.update(shingle.encode("utf-8"))
        append(hasher.digest())
    return out
