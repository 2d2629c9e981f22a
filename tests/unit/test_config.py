"""The sources file: valid files load, malformed ones fail with the file, entry and field named."""

from __future__ import annotations

import pytest

from newsflow.config import ConfigError, load_sources, parse_sources

GOOD = """
settings:
  min_body_chars: 150
  allow_private_hosts: ['127.0.0.1:8765']
sources:
  - {name: alhadath, kind: feed, url: 'http://127.0.0.1:8765/alhadath/rss.xml', language: ar, timezone: Asia/Beirut}
  - {name: herald, kind: sitemap, url: 'http://127.0.0.1:8765/dailyherald/news-sitemap.xml'}
  - {name: listed, kind: urls, urls: ['http://127.0.0.1:8765/a.html']}
  - {name: archived, kind: warc, path: 'archives/*.warc.gz', max_articles: 10}
"""


def test_good_file_loads_every_kind():
    config = parse_sources(GOOD, "sources.yaml")
    assert [s.kind for s in config.sources] == ["feed", "sitemap", "urls", "warc"]
    assert config.settings.min_body_chars == 150
    assert config.settings.min_host_interval_s == 1.0  # polite default
    assert config.source("alhadath").timezone == "Asia/Beirut"
    assert config.selected(["listed", "alhadath"]) == ["alhadath", "listed"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sources:\n  - {name: a, kind: rss, url: x}\n", ["sources.yaml", "sources[0] (name 'a')", "kind must be one of"]),
        ("sources:\n  - {name: a, kind: feed}\n", ["sources[0] (name 'a')", "field 'url'", "Field required"]),
        ("sources:\n  - {name: a, kind: feed, url: 'https://x.example/feed', language: arabic}\n", ["field 'language'", "two-letter"]),
        ("sources:\n  - {name: a, kind: feed, url: 'https://x.example/feed', timezone: Mars/Olympus}\n", ["field 'timezone'", "unknown time zone"]),
        # a region alone is a folder of the tz database: ZoneInfo raised IsADirectoryError, not a config error
        ("sources:\n  - {name: a, kind: feed, url: 'https://x.example/feed', timezone: Europe}\n", ["field 'timezone'", "unknown time zone 'Europe'"]),
        ("settings: {timezone: America}\nsources:\n  - {name: a, kind: feed, url: 'https://x.example/feed'}\n", ["settings.timezone", "unknown time zone 'America'"]),
        ("sources:\n  - {name: 'Bad Name', kind: feed, url: 'https://x.example/feed'}\n", ["field 'name'"]),
        ("sources:\n  - {name: a, kind: urls}\n", ["sources[0] (name 'a')", "needs 'urls'"]),
        # a urls source's `urls` field bears its kind's name: both went from the path, the field unnamed
        ("sources:\n  - {name: a, kind: urls, urls: [123, 'https://x.example/a']}\n",
         ["sources[0] (name 'a'), field 'urls.0': Input should be a valid string"]),
        ("sources:\n  - {name: a, kind: urls, urls: 'https://x.example/a'}\n",
         ["sources[0] (name 'a'), field 'urls': Input should be a valid list"]),
        # an unknown key: the nearest the place takes, where else it belongs, or what the place takes
        ("sources:\n  - {name: a, kind: feed, url: 'https://x.example/feed', colour: red}\n",
         ["field 'colour'", "unknown key 'colour' (the keys here: kind, language, max_articles, name, revisit, "
          "schedule, schedule_timezone, timezone, url)"]),
        ("settings: {min_body_char: 3}\nsources:\n  - {name: a, kind: feed, url: 'https://x.example/feed', timezon: UTC}\n",
         ["field 'settings.min_body_char': unknown key 'min_body_char': did you mean 'min_body_chars'?",
          "field 'timezon': unknown key 'timezon': did you mean 'timezone'?"]),
        ("sources:\n  - {name: a, kind: urls, urls_file: picks.txt, min_body_chars: 50}\n",
         ["field 'min_body_chars': unknown key 'min_body_chars' here: it belongs in settings"]),
        ("sources:\n  - {name: a, kind: warc, path: crawl.warc.gz, urls_file: picks.txt}\n",
         ["field 'urls_file': unknown key 'urls_file' here: it belongs in a urls source"]),
        ("settings: {name: a}\nsources:\n  - {name: a, kind: feed, url: 'https://x.example/feed'}\n",
         ["field 'settings.name': unknown key 'name' here: it belongs in a source"]),
        ("source:\n  - {name: a, kind: feed, url: 'https://x.example/feed'}\n",
         ["field 'source': unknown key 'source': did you mean 'sources'?"]),
        ("settings: {min_host_interval_s: -1}\nsources:\n  - {name: a, kind: feed, url: 'https://x.example/feed'}\n", ["settings.min_host_interval_s"]),
        ("settings: {allow_private_hosts: ['localhost']}\nsources:\n  - {name: a, kind: feed, url: 'https://x.example/feed'}\n", ["HOST:PORT"]),
        ("sources:\n  - {name: a, kind: feed, url: 'https://x.example/feed'}\n  - {name: a, kind: feed, url: 'https://y.example/feed'}\n", ["used twice"]),
        ("sources: []\n", ["field 'sources'"]),
        ("- just\n- a list\n", ["expected a mapping"]),
        ("sources: [unclosed\n", ["not valid YAML"]),
        # half of a UTF-16 pair: no character, so no URL (it failed the ledger's Parquet write in the discover stage)
        ("sources:\n  - {name: a, kind: urls, urls: [\"https://x.example/\\ud800\"]}\n",
         ["not valid YAML", "half of a UTF-16 pair", "line 2"]),
        # a feed or sitemap is read over HTTP: another scheme or no host is a typo
        ("sources:\n  - {name: a, kind: feed, url: 'ftp://x.example/feed'}\n",
         ["field 'url'", "not an http:// or https:// URL"]),
        ("sources:\n  - {name: a, kind: sitemap, url: 'x.example/sitemap.xml'}\n", ["field 'url'", "with a host"]),
        ("sources:\n  - {name: a, kind: feed, url: 'https:///feed'}\n", ["field 'url'", "with a host"]),
        # a key given twice: YAML would keep the last without a word
        ("sources:\n  - name: a\n    kind: feed\n    url: https://x.example/feed\n    url: https://y.example/feed\n",
         ["not valid YAML", "the key 'url' is given twice", "line 5"]),
        ("settings: {timezone: Asia/Beirut}\nsources:\n  - {name: a, kind: feed, url: 'https://x.example/feed'}\n"
         "settings: {max_articles: 10}\n", ["the key 'settings' is given twice"]),
    ],
)
def test_malformed_files_name_the_problem(text, expected):
    with pytest.raises(ConfigError) as info:
        parse_sources(text, "sources.yaml")
    message = str(info.value)
    for part in expected:
        assert part in message, message


def test_one_mistake_in_a_thousand_entries_is_said_twenty_times_and_counted():
    """A misspelt kind copied into 1,000 entries gave 1,000 lines (the console; the DAG file's import error in the
    UI): the first 20 are shown, in the file's order, and the rest counted."""
    text = "sources:\n" + "".join(f"  - {{name: s{i}, kind: rss, url: 'https://h{i}.example/feed'}}\n"
                                  for i in range(1000))
    with pytest.raises(ConfigError) as refused:
        parse_sources(text, "big.yaml")
    lines = str(refused.value).splitlines()
    assert lines[0] == "invalid sources file"
    assert lines[1:21] == [f"  big.yaml: sources[{i}] (name 's{i}'): kind must be one of feed, sitemap, urls, warc"
                           for i in range(20)]
    assert lines[21:] == ["  ... and 980 more problem(s) of this file"]
    # twenty problems are all shown, with nothing counted
    short = "sources:\n" + "".join(f"  - {{name: s{i}, kind: rss, url: 'https://h{i}.example/f'}}\n" for i in range(20))
    with pytest.raises(ConfigError) as refused:
        parse_sources(short, "short.yaml")
    assert len(str(refused.value).splitlines()) == 21 and "more problem" not in str(refused.value)


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="sources file not found"):
        load_sources(tmp_path / "nope.yaml")


def test_a_path_no_file_name_can_spell_is_a_clear_error(tmp_path):
    """A manual run's conf is JSON, where "\\ud800" is a lone surrogate: open() raised UnicodeEncodeError."""
    with pytest.raises(ConfigError, match="cannot read sources file"):
        load_sources(tmp_path / "sources-\ud800.yaml")


ARABIC_SOURCE = ("settings: {timezone: Asia/Beirut}\nsources:\n"
                 "  - {name: alhadath, kind: feed, url: 'https://alhadath.example/\u0623\u062e\u0628\u0627\u0631.xml'}\n")


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-be", "utf-32"])
def test_a_sources_file_saved_with_a_byte_order_mark_loads(tmp_path, encoding):
    """Windows Notepad saves "Unicode" as UTF-16 with a BOM; YAML allows it. Read as UTF-8, it failed with
    "'utf-8' codec can't decode byte 0xff"."""
    path = tmp_path / "sources.yaml"
    data = ARABIC_SOURCE.encode(encoding)
    path.write_bytes(data if encoding != "utf-16-be" else b"\xfe\xff" + data)
    assert load_sources(path).sources[0].url == "https://alhadath.example/\u0623\u062e\u0628\u0627\u0631.xml"


def test_a_sources_file_in_a_legacy_encoding_names_the_line(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_bytes(ARABIC_SOURCE.encode("windows-1256"))
    with pytest.raises(ConfigError, match=r"sources.yaml: line 3: not UTF-8 text \(byte 0xc3 at offset \d+\); save"):
        load_sources(path)


def test_unknown_source_filter_is_an_error():
    config = parse_sources(GOOD)
    with pytest.raises(ConfigError, match="unknown source"):
        config.selected(["nosuch"])


def test_shipped_config_files_are_valid():
    from newsflow.config import project_root

    for name in ("sources.yaml", "sources.demo.yaml"):
        config = load_sources(project_root() / "config" / name)
        assert config.sources


def test_randomly_damaged_sources_files_load_or_say_why():
    """1,500 damaged copies of the shipped files (a fixed seed): YAML markup, hostile tags, out-of-range values,
    cut or repeated lines. Each one loads, or fails with a ConfigError that names the file; no other exception
    (a cut zone name such as `Europe` raised IsADirectoryError from the tz database)."""
    import random

    from newsflow.config import project_root

    texts = [path.read_text(encoding="utf-8") for path in sorted((project_root() / "config").glob("*.yaml"))]
    snippets = [": ", "- ", "\t", "{", "}", "[", "]", "'", '"', "&a ", "*a", "!!python/object/apply:os.system ",
                "~", "null", "1e999", "-1", "yes", "@hourly", "*/0 * * * *", "99h", "Europe", "Europe/Nowhere",
                "\n  ", "\n- ", "---\n", "? ", "|", ">", "#", "\x00", "\ufeff", "\u0085", "<<: *a\n",
                "9999999999999999999999", ".nan", "[[[[", "{a: {b: "]
    rng = random.Random(41)
    loaded = 0
    for _ in range(1500):
        text = rng.choice(texts)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(len(text) + 1)
            kind = rng.randrange(4)
            if kind == 0:
                text = text[:at] + rng.choice(snippets) + text[at:]
            elif kind == 1:
                text = text[:at] + text[at + rng.randint(1, 40):]
            elif kind == 2:
                text = text[:at]
            else:
                lines = text.split("\n")
                lines.insert(rng.randrange(len(lines)), rng.choice(lines))
                text = "\n".join(lines)
        try:
            parse_sources(text, "sources.yaml")
            loaded += 1
        except ConfigError as exc:
            assert "sources.yaml" in str(exc)
    assert 0 < loaded < 1500


def test_a_utf16_pair_written_as_two_escapes_is_one_character():
    config = parse_sources('sources:\n  - {name: a, kind: urls, urls: ["https://x.example/\\ud83d\\udd25"]}\n')
    assert config.sources[0].urls == ["https://x.example/\U0001f525"]


def test_body_bounds_may_meet_but_not_cross():
    """min_body_chars above max_body_chars rejects every article of every source: refused, naming both."""
    source = '  - {name: a, kind: feed, url: "http://x"}\n'
    assert parse_sources(f"settings: {{min_body_chars: 500, max_body_chars: 500}}\nsources:\n{source}").settings \
        .min_body_chars == 500
    with pytest.raises(ConfigError, match="min_body_chars is larger than max_body_chars"):
        parse_sources(f"settings: {{min_body_chars: 501, max_body_chars: 500}}\nsources:\n{source}")


@pytest.mark.parametrize("name", ["Etc/UTC", "GMT", "Zulu", "Etc/GMT0", "UTC"])
def test_every_name_of_utc_is_stored_as_utc(name):
    """`timezone: Etc/UTC` was stored as written, and the warehouse's last_complete_day, which reads `UTC` as a source
    without a zone of its own, judged it on the UTC day: a Hawaii outlet's evening (its pages at -10:00) was a zero day
    in coverage_gaps and a volume warning."""
    config = parse_sources(f"settings: {{timezone: {name}}}\nsources:\n"
                           f'  - {{name: a, kind: feed, url: "http://x", timezone: {name}, schedule_timezone: {name}}}\n')
    source = config.sources[0]
    assert (config.settings.timezone, source.timezone, source.schedule_timezone) == ("UTC", "UTC", "UTC")
    assert parse_sources('sources:\n  - {name: a, kind: feed, url: "http://x", timezone: Asia/Beirut}\n') \
        .sources[0].timezone == "Asia/Beirut"
