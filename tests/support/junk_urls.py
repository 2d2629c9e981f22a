"""Seeded junk-URL generator for fuzz tests: brackets and bad IPv6, empty and over-long labels, NULs and other
controls, IDN, huge URLs, bad ports and schemes, Unicode separators inside a line.

Every URL it makes either points at the loopback base it is given or is unusable before any name lookup (the
host is malformed, the scheme is not http, the port is not a port), so a fuzz run never leaves the machine.
"""

from __future__ import annotations

import random

# characters that str.splitlines treats as line breaks but a URL list must not: they stay inside their line
NOT_LINE_BREAKS = ["\u2028", "\u2029", "\x85", "\x0c", "\x0b", "\x1c", "\x1d", "\x1e"]
CONTROLS = [chr(c) for c in range(0x00, 0x20) if chr(c) not in "\r\n"] + [chr(c) for c in range(0x7F, 0xA0)]
UNICODE = "ñéü日本語한국어العربيةрусский☃💥\u200b\u202e\ufeff"
PATH_CHARS = "abcxyz0189-._~!$&'()*+,;=:@/?#[]%{}|^` \"<>\\" + UNICODE


def _text(rng: random.Random, alphabet: str, lo: int, hi: int) -> str:
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(lo, hi)))


def junk_url(rng: random.Random, base: str, index: int) -> str:
    """One URL of a randomly chosen kind; `index` keeps the good ones distinct."""
    kind = rng.randrange(14)
    if kind == 0:
        return f"{base}/ok/fuzz-{index}"
    if kind == 1:  # loopback, junk path and query (IDN, percent junk, separators that are not line breaks)
        return f"{base}/{_text(rng, PATH_CHARS + ''.join(NOT_LINE_BREAKS), 1, 40)}"
    if kind == 2:  # brackets that are never a valid IPv6 address (':::' cannot appear in one)
        inner = _text(rng, "0123456789abcdefg:.%", 0, 12)
        return rng.choice([f"http://[{inner}:::{inner}]/x", f"http://[{inner}/", "http://[1:2:3]/", "http://[::1/",
                           f"http://{inner}]/", "http://[]/", f"https://[::g{inner}]:80/"])
    if kind == 3:  # empty labels
        a, b = _text(rng, "abc123", 1, 8), _text(rng, "xyz", 1, 5)
        return rng.choice([f"http://{a}..{b}.test/", f"http://.{a}.test/", f"https://{a}...test/p", "http://../"])
    if kind == 4:  # a label over 63 characters, or a name over 253
        return rng.choice([f"http://{'a' * rng.randint(64, 300)}.test/",
                           "http://" + ".".join(["b" * 63] * rng.randint(5, 9)) + "/"])
    if kind == 5:  # a control character somewhere (NUL included)
        url = f"{base}/ok/ctl-{index}"
        at = rng.randrange(len(url) + 1)
        return url[:at] + rng.choice(CONTROLS) + url[at:]
    if kind == 6:  # IDN hosts that cannot be names: a space, an empty label, or a label too long once encoded
        word = _text(rng, UNICODE, 1, 6)
        return rng.choice([f"http://{word} {word}.test/", f"http://{word}..test/",
                           f"http://{_text(rng, '日本語한국어', 40, 60)}.test/"])
    if kind == 7:  # huge
        return rng.choice([f"{base}/{'a' * 100_000}", "http://" + "h" * 100_000 + "/", f"{base}/?q={'%' * 50_000}"])
    if kind == 8:  # ports that are not ports
        return f"http://127.0.0.1:{rng.choice(['99999', '-1', 'abc', '65536', '8O', '1' * 30])}/x"
    if kind == 9:  # not http(s), or no scheme at all
        return rng.choice(["javascript:alert(1)", "mailto:a@b.test", "ftp://127.0.0.1/x", "file:///etc/passwd",
                           f"//{_text(rng, 'abc', 1, 5)}.test/x", _text(rng, "abcdefghij/.-_", 1, 30), "http:",
                           "http://", "http:///", "ht!tp://x/", "data:text/html,<p>hi</p>"])
    if kind == 10:  # separators a careless splitter would cut at, between two URLs on one line
        return f"{base}/a-{index}{rng.choice(NOT_LINE_BREAKS)}{base}/b-{index}"
    if kind == 11:  # a duplicate of an earlier good URL, with tracking parameters
        return f"{base}/ok/fuzz-{rng.randrange(index + 1)}?utm_source=fuzz"
    if kind == 12:  # loopback page that errors
        return f"{base}/status/{rng.choice([404, 410, 500])}?i={index}"
    # percent-escapes that decode to junk, and userinfo on the loopback host
    return rng.choice([f"{base}/%00%zz%{_text(rng, 'G-', 1, 3)}", f"{base.replace('//', '//user:p%40ss@')}/u-{index}",
                       f"{base}/{_text(rng, UNICODE, 1, 10)}#frag-{index}"])


def junk_lines(seed: int, count: int, base: str) -> list[str]:
    """`count` URL lines, none blank or a comment once its ends are trimmed, none holding a real line break."""
    rng = random.Random(seed)
    lines = []
    for index in range(count):
        line = junk_url(rng, base, index)
        assert "\r" not in line and "\n" not in line
        if not line.strip(" \t\f\v") or line.strip(" \t\f\v").startswith("#"):
            line = "x" + line
        lines.append(line)
    return lines
