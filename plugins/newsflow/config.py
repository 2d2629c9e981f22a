"""The sources file (YAML: optional `settings:` block and a `sources:` list) and the paths newsflow writes to.

Everything is validated by one pydantic model, so a malformed file fails before anything is fetched or written.
"""

from __future__ import annotations

import hashlib
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_serializer,
    field_validator,
    model_validator,
)

from newsflow.encoding import LONE_SURROGATE, bom_encoding

DEFAULT_USER_AGENT = "newsflow/0.1 (+https://github.com/newsflow/newsflow; news archiving for research)"
_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,62}$")


class ConfigError(ValueError):
    """A sources file that cannot be used; the message names the file, the entry and the field."""


# validation context key: the data is a sources file as a person wrote it, not a model dumped to XCom and read back
AS_WRITTEN = "as_written"


def _shown(value: object) -> str:
    """The value as an error message quotes it: a value of thousands of characters would bury the message."""
    text = repr(value)
    return text if len(text) <= 60 else f"{text[:40]}... ({len(text)} characters)"


_DURATION_RE = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# past these a policy or a schedule is a typo: a timedelta overflows at ~2.7 million years, Airflow's schedule with it
MAX_REVISIT = timedelta(days=3650)
MAX_SCHEDULE_S = 366 * 86400


def _whole(digits: str) -> int:
    # int() refuses text of more than 4,300 digits; a count of 19 digits already passes every limit here
    digits = digits.lstrip("0") or "0"
    return int(digits) if len(digits) <= 18 else 10**18


def parse_duration(value: object) -> timedelta:
    """`15m`, `2h`, `1d`, `1h30m` (units s, m, h, d, w) or `0`, at most MAX_REVISIT. A bare number is refused:
    minutes or hours?"""
    if isinstance(value, timedelta):
        return value
    text = value.strip().lower() if isinstance(value, str) else ""
    if text == "0" or (value == 0 and not isinstance(value, bool)):
        return timedelta(0)
    parts = _DURATION_RE.findall(text)
    if not parts or "".join(number + unit for number, unit in parts) != text:
        raise ValueError(f"{_shown(value)} is not a duration such as '15m', '2h', '1d' or '1h30m'")
    seconds = sum(_whole(number) * _UNIT_SECONDS[unit] for number, unit in parts)
    if seconds > MAX_REVISIT.total_seconds():
        raise ValueError(f"{_shown(value)} is longer than {MAX_REVISIT.days}d (ten years), the longest revisit "
                         "duration (a window without end is 'forever')")
    return timedelta(seconds=seconds)


def format_duration(value: timedelta) -> str:
    """The shortest `parse_duration` spelling, so a policy survives a trip through XCom as the user wrote it."""
    seconds = int(value.total_seconds())
    if seconds == 0:
        return "0"
    parts = []
    for unit in "wdhms":
        count, seconds = divmod(seconds, _UNIT_SECONDS[unit])
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def _a_number(value: object) -> object:
    # YAML reads yes, no, on, off, true and false as booleans, and pydantic takes a boolean for 1 or 0:
    # `max_redirects: no` would quietly mean "never follow a redirect"
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number: YAML reads yes, no, on, off, true and false as yes/no")
    # YAML's 0x and 1:30 forms spell integers of any size, and one past 4,300 digits cannot even be printed (a log
    # line, the job's trip through XCom as JSON would fail)
    if isinstance(value, int) and abs(value) > 10**18:
        raise ValueError("is larger than any setting takes (at most 10^18)")
    return value


Count = Annotated[int, BeforeValidator(_a_number)]
Seconds = Annotated[float, BeforeValidator(_a_number)]
# a wait longer than an hour is a typo (a 1e300 timeout is accepted by aiohttp and never ends); fetch_extract has 2 h
HOUR = 3600
# C0 and C1 controls: a line break in a header value would start another header (aiohttp refuses the request)
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class RevisitPolicy(BaseModel):
    """When a known article URL is fetched again: while it is younger than `while_younger_than` (from its
    published_at), at most once per `every` since its last fetch; never after. Also `always` or `never`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    while_younger_than: timedelta | None = Field(timedelta(hours=24), description="None: at any age (`forever`)")
    every: timedelta = timedelta(hours=2)

    @model_validator(mode="before")
    @classmethod
    def _named(cls, value: object) -> object:
        if value == "always":
            return {"while_younger_than": "forever", "every": "0"}
        if value == "never":
            return {"while_younger_than": "0"}
        if isinstance(value, str):
            raise ValueError(f"{value!r} is not a revisit policy: use 'always', 'never' or a mapping such as "
                             "{while_younger_than: 24h, every: 2h}")
        return value

    @field_validator("while_younger_than", mode="before")
    @classmethod
    def _window(cls, value: object) -> timedelta | None:
        return None if value in ("forever", None) else parse_duration(value)

    @field_validator("every", mode="before")
    @classmethod
    def _interval(cls, value: object) -> timedelta:
        return parse_duration(value)

    @field_serializer("while_younger_than", "every")
    def _spelled(self, value: timedelta | None) -> str:
        return "forever" if value is None else format_duration(value)


def host_port_problem(item: str) -> str | None:
    """Why an allow_private_hosts entry (the sources file's, or NEWSFLOW_ALLOW_PRIVATE_HOSTS') is no HOST:PORT."""
    if not re.match(r"^[\w.\-\[\]:]+:\d{1,5}$", item):
        return f"{item!r} is not HOST:PORT"
    if not 1 <= int(item.rpartition(":")[2]) <= 65535:
        return f"{item!r} names no port: a port is 1 to 65535"
    return None


class Settings(BaseModel):
    """Run-wide knobs. Defaults are polite enough to point at sites we do not control."""

    # .inf or .nan as a timeout or interval would make every request wait forever or never
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    user_agent: str = DEFAULT_USER_AGENT
    min_body_chars: Count = Field(200, ge=1)
    max_body_chars: Count = Field(1_000_000, ge=1)
    min_host_interval_s: Seconds = Field(1.0, ge=0, le=HOUR)
    host_concurrency: Count = Field(2, ge=1, le=64)
    global_concurrency: Count = Field(32, ge=1, le=1024)
    connect_timeout_s: Seconds = Field(10.0, gt=0, le=HOUR)
    read_timeout_s: Seconds = Field(20.0, gt=0, le=HOUR)
    total_timeout_s: Seconds = Field(60.0, gt=0, le=HOUR)
    max_bytes: Count = Field(10_000_000, ge=1024)
    max_redirects: Count = Field(5, ge=0, le=30)
    max_tries: Count = Field(3, ge=1, le=10)
    host_failure_limit: Count = Field(5, ge=1, description="connection failures in a row before a host counts as down")
    backoff_base_s: Seconds = Field(1.0, ge=0, le=HOUR)
    backoff_max_s: Seconds = Field(60.0, ge=0, le=HOUR)
    respect_robots: bool = True
    allow_private_hosts: list[str] = Field(default_factory=list)
    timezone: str = "UTC"
    extract_workers: Count = Field(0, ge=0, description="0 means one per core")
    extract_time_limit_s: Seconds = Field(60.0, gt=0, le=HOUR, description="CPU seconds one page's extraction may take")
    # 5,000 fetches at one request a second take ~83 minutes: inside fetch_extract's 2-hour limit
    max_articles: Count | None = Field(5000, ge=1, description="article pages a source fetches per run")
    revisit: RevisitPolicy = Field(default_factory=RevisitPolicy)
    schedule: str | None = Field(None, description="default schedule of the sources (cron, @preset or 15m / 2h)")
    schedule_timezone: str = Field("UTC", description="the zone cron schedules and presets are read in (IANA name)")

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        return None if value is None else check_schedule(value)

    @field_validator("timezone", "schedule_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        return _check_zone(value)

    @field_validator("user_agent")
    @classmethod
    def _header_value(cls, value: str) -> str:
        # sent with every request: a value no HTTP header can carry fails every fetch of every source
        if not value.strip():
            raise ValueError("is empty: say who crawls and how to reach them, as the default does")
        if _CONTROLS.search(value):
            raise ValueError(f"{_shown(value)} holds a control character (a line break, a tab): an HTTP header cannot")
        return value

    @field_validator("allow_private_hosts")
    @classmethod
    def _host_port(cls, value: list[str]) -> list[str]:
        for item in value:
            problem = host_port_problem(item)
            if problem:
                raise ValueError(problem)
        return value

    @model_validator(mode="after")
    def _bounds(self) -> Settings:
        if self.min_body_chars > self.max_body_chars:
            raise ValueError("min_body_chars is larger than max_body_chars")
        if self.backoff_base_s > self.backoff_max_s:
            raise ValueError("backoff_base_s is larger than backoff_max_s")
        return self


class _SourceBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    language: str | None = None
    timezone: str | None = None
    max_articles: Count | None = Field(None, ge=1)
    revisit: RevisitPolicy | None = Field(None, description="fields not given come from settings.revisit")
    # unset: the file's settings.schedule; an explicit null: manual runs only
    schedule: str | None = None
    schedule_timezone: str | None = None  # unset: settings.schedule_timezone

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str | None) -> str | None:
        return None if value is None else check_schedule(value)

    @field_validator("schedule_timezone")
    @classmethod
    def _schedule_zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value)

    @field_validator("name")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _NAME_RE.match(value):
            raise ValueError("must be lower-case letters, digits, '_' or '-' (at most 63 characters)")
        return value

    @field_validator("language")
    @classmethod
    def _iso639(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^[a-z]{2}$", value):
            raise ValueError("must be a two-letter ISO 639-1 code such as 'ar' or 'en'")
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        return None if value is None else _check_zone(value)


class _ListingSource(_SourceBase):
    url: str

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        # a feed or sitemap is fetched over HTTP: a URL the fetch stage would refuse (another scheme, no host, a
        # bad port) is a typo to say now, not a failed source at every run; urls imports the standard library only
        from newsflow.urls import url_problem

        if url_problem(value.strip()):
            raise ValueError(f"{value!r} is not an http:// or https:// URL with a host")
        return value.strip()


class FeedSource(_ListingSource):
    kind: Literal["feed"]


class SitemapSource(_ListingSource):
    kind: Literal["sitemap"]


class UrlsSource(_SourceBase):
    kind: Literal["urls"]
    urls: list[str] | None = None
    urls_file: str | None = None

    @field_validator("urls_file")
    @classmethod
    def _path_or_http_url(cls, value: str | None) -> str | None:
        # the discover stage fetches an http(s) URL and reads anything else as a path: `file:///x` would be read as
        # the relative path `file:/x`, `ftp://host/list` as `ftp:/host/list`
        from newsflow.urls import scheme_of, url_problem

        if value is None or not scheme_of(value):
            return value
        if scheme_of(value) not in ("http", "https"):
            raise ValueError(f"{value!r} is neither a path nor an http:// or https:// URL (a path with a ':' in its "
                             "first part is written ./like:this)")
        if url_problem(value.strip()):
            raise ValueError(f"{value!r} is not an http:// or https:// URL with a host")
        return value.strip()

    @model_validator(mode="after")
    def _one_locator(self) -> UrlsSource:
        if self.urls is not None and self.urls_file is not None:
            raise ValueError("give 'urls' or 'urls_file', not both: one list would be ignored")
        if not self.urls and not self.urls_file:
            raise ValueError("a 'urls' source needs 'urls' (a list) or 'urls_file' (a path or URL)")
        return self


class WarcSource(_SourceBase):
    kind: Literal["warc"]
    path: str

    @field_validator("path")
    @classmethod
    def _a_path(cls, value: str) -> str:
        # a blank path reads the project folder as a glob of nothing: every run `failed: warc_not_found`
        if not value.strip():
            raise ValueError("a warc source needs 'path': a WARC file, or a glob of them (crawl/*.warc.gz)")
        return value

    @field_validator("revisit")
    @classmethod
    def _no_revisit(cls, value: RevisitPolicy | None, info: ValidationInfo) -> RevisitPolicy | None:
        # only the sources file as written is checked: the file's default policy is filled in for every source,
        # and a job carries it through XCom
        if value is not None and (info.context or {}).get(AS_WRITTEN):
            raise ValueError("a warc source reads its pages from the archive, never the network: a revisit policy "
                             "has no effect on it")
        return value


Source = Annotated[FeedSource | SitemapSource | UrlsSource | WarcSource, Field(discriminator="kind")]


class SourcesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    settings: Settings = Field(default_factory=Settings)
    sources: list[Source] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_names(self) -> SourcesFile:
        seen: set[str] = set()
        for source in self.sources:
            if source.name in seen:
                raise ValueError(f"source name {source.name!r} is used twice")
            seen.add(source.name)
        return self

    @model_validator(mode="after")
    def _revisit_defaults(self) -> SourcesFile:
        # resolved here, once: after a trip through XCom a policy no longer knows which fields the file gave
        for source in self.sources:
            given = source.revisit
            if given is None:
                source.revisit = self.settings.revisit
            else:
                source.revisit = self.settings.revisit.model_copy(
                    update={key: getattr(given, key) for key in given.model_fields_set})
        return self

    @model_validator(mode="after")
    def _one_dag_per_schedule(self) -> SourcesFile:
        # dags/news_scheduled.py makes one DAG per id: of two schedules with one id, one would never run
        seen: dict[str, str] = {}
        for key in self.schedule_groups():
            dag_id = scheduled_dag_id(key)
            if dag_id in seen:
                raise ValueError(f"schedules {seen[dag_id]!r} and {key!r} would be one DAG, {dag_id}")
            seen[dag_id] = key
        return self

    def source(self, name: str) -> FeedSource | SitemapSource | UrlsSource | WarcSource:
        for source in self.sources:
            if source.name == name:
                return source
        raise KeyError(name)

    def schedule_of(self, name: str) -> str | None:
        """The source's own schedule, else the file's default; an explicit `schedule: null` keeps it manual."""
        source = self.source(name)
        if "schedule" in source.model_fields_set:
            return source.schedule
        return self.settings.schedule

    def schedule_groups(self) -> dict[str, list[str]]:
        """Scheduled sources grouped by schedule and the zone it is read in (one scheduled DAG each), in file order;
        equal durations such as `60m` and `1h` share a group. Keys as zoned_schedule spells them."""
        groups: dict[str, list[str]] = {}
        for source in self.sources:
            schedule = self.schedule_of(source.name)
            if schedule is not None:
                zone = source.schedule_timezone or self.settings.schedule_timezone
                groups.setdefault(zoned_schedule(schedule, zone), []).append(source.name)
        return groups

    def selected(self, names: list[str] | None) -> list[str]:
        """Names of the sources to run; an unknown name is an error, not an empty run."""
        all_names = [s.name for s in self.sources]
        if not names:
            return all_names
        unknown = sorted(set(names) - set(all_names))
        if unknown:
            raise ConfigError(f"unknown source(s) {', '.join(unknown)}; the file defines {', '.join(all_names)}")
        return [n for n in all_names if n in set(names)]


# Airflow's cron presets (airflow.utils.dates.cron_presets); @once and @continuous make no sense for a news feed
SCHEDULE_PRESETS = ("@hourly", "@daily", "@weekly", "@monthly", "@quarterly", "@yearly")
UTC_ZONE = "UTC"
CRON_TZ = "CRON_TZ="
_SCHEDULE_DURATION_RE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
MIN_INTERVAL_S = 60


def duration_seconds(value: str) -> int | None:
    """`15m`, `2h`, `1h30m`, `1d` as seconds; None when the text is not a duration."""
    match = _SCHEDULE_DURATION_RE.match(value.strip())
    if not match or not any(match.groups()):
        return None
    days, hours, minutes, seconds = (_whole(g or "0") for g in match.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def check_schedule(value: str) -> str:
    """A schedule is a cron expression, an Airflow preset or a duration of at least a minute."""
    value = value.strip()
    if value in SCHEDULE_PRESETS:
        return value
    seconds = duration_seconds(value)
    if seconds is not None:
        if seconds < MIN_INTERVAL_S:
            raise ValueError(f"schedule {value!r} is shorter than a minute")
        if seconds > MAX_SCHEDULE_S:
            raise ValueError(f"schedule {_shown(value)} is longer than {MAX_SCHEDULE_S // 86400}d, the longest "
                             "schedule")
        return value
    # croniter ships with Airflow, which parses cron schedules with it
    from croniter import CroniterBadDateError, croniter

    if len(value.split()) == 5 and croniter.is_valid(value):
        try:
            croniter(value).get_next()
        except CroniterBadDateError:
            # `0 0 31 2 *`: valid cron, but no such day; the DAG would be listed and never run
            raise ValueError(f"schedule {_shown(value)} never fires: no date matches it (a day the month never "
                             "has?)") from None
        return value
    raise ValueError(f"schedule {_shown(value)} is not a cron expression (5 fields), one of "
                     f"{', '.join(SCHEDULE_PRESETS)}, or a duration such as 15m, 2h or 1d")


def zoned_schedule(schedule: str, zone: str = UTC_ZONE) -> str:
    """A schedule and the zone its clock times are read in, as one key: `0 6 * * *` in UTC as it is,
    `CRON_TZ=Asia/Tokyo 0 6 * * *` in another zone (cron's and Kubernetes' spelling). A duration runs every so long
    whatever the zone, so it keeps no zone."""
    schedule, zone = canonical_schedule(schedule), canonical_zone(zone)
    if zone == UTC_ZONE or duration_seconds(schedule) is not None:
        return schedule
    return f"{CRON_TZ}{zone} {schedule}"


def split_zone(key: str) -> tuple[str, str]:
    """(schedule, zone) of a zoned_schedule key."""
    if key.startswith(CRON_TZ):
        zone, _, schedule = key.removeprefix(CRON_TZ).partition(" ")
        return schedule, zone
    return key, UTC_ZONE


# the cron expression each preset stands for in Airflow (airflow.utils.dates.cron_presets), to spell it one way
_PRESET_OF_CRON = {"0 * * * *": "@hourly", "0 0 * * *": "@daily", "0 0 * * 0": "@weekly", "0 0 1 * *": "@monthly",
                   "0 0 1 */3 *": "@quarterly", "0 0 1 1 *": "@yearly"}
# the tz database's other names for UTC: `Etc/UTC` as a source's schedule_timezone made a second DAG beside the
# settings' `UTC` one, both firing at the same moment
_UTC_NAMES = frozenset({"Etc/UTC", "Etc/UCT", "Etc/Universal", "Etc/Zulu", "UCT", "Universal", "Zulu", "Etc/GMT",
                        "Etc/GMT0", "Etc/GMT+0", "Etc/GMT-0", "Etc/Greenwich", "GMT", "GMT0", "GMT+0", "GMT-0",
                        "Greenwich"})


def canonical_zone(zone: str) -> str:
    return UTC_ZONE if zone in _UTC_NAMES else zone


def canonical_schedule(value: str) -> str:
    """One spelling per schedule: durations as their largest whole unit (`60m` -> `1h`), a preset's cron expression
    as the preset (`0 * * * *` -> `@hourly`: two DAGs fired at the same moment), others as written."""
    seconds = duration_seconds(value)
    if seconds is None:
        written = " ".join(value.split())
        return _PRESET_OF_CRON.get(written, written)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# Airflow refuses a DAG id over 250 characters: room for news_ingest_cron_, a hash and the longest zone name
_CRON_SLUG_CHARS = 160


def _read_back_cron(slug: str) -> str:
    """The one cron expression a cron slug stands for: five fields, each one token or two joined as a step of
    `*` (`x_5` is `*/5`) or a range (`1_5` is `1-5`, `MON_FRI` is `MON-FRI`), joined from the right."""
    tokens = slug.split("_")
    joins = len(tokens) - 5
    fields: list[str] = []
    at = len(tokens) - 1
    while at >= 0:
        left, right = tokens[at - 1] if at else "", tokens[at]
        if joins > 0 and left == "x" and right.isdigit():
            fields.append(f"{left}/{right}")
        elif joins > 0 and ((left.isdigit() and right.isdigit())
                            or (left.isalpha() and right.isalpha() and "x" not in (left, right))):
            fields.append(f"{left}-{right}")
        else:
            fields.append(right)
            at -= 1
            continue
        joins -= 1
        at -= 2
    return " ".join(reversed(fields)).replace("x", "*") if joins == 0 else ""


def _cron_slug(schedule: str) -> str:
    """`cron_0_6_x_x_1_5` for `0 6 * * 1-5`. A slug keeps digits and names only, so `0 6 * * 1,5` or `0-6 * * 1 5`
    would spell it too: an expression the slug does not read back as gets a hash of itself after `__`, which no
    plain slug holds, and so does one too long for a DAG id."""
    plain = re.sub(r"[^0-9A-Za-z]+", "_", schedule.replace("*", "x")).strip("_")
    if len(plain) <= _CRON_SLUG_CHARS and _read_back_cron(plain) == schedule:
        return f"cron_{plain}"
    digest = hashlib.sha256(schedule.encode()).hexdigest()[:10]
    return f"cron_{plain[:_CRON_SLUG_CHARS].rstrip('_')}__{digest}"


def schedule_slug(schedule: str) -> str:
    """The part of a scheduled DAG's id that names its schedule (a zoned_schedule key): `hourly`, `every_15m`,
    `every_minute`, `cron_0_6_x_x_x`, and the zone after it when not UTC (`cron_0_6_x_x_x_asia_tokyo`). Distinct
    schedules get distinct ids (see _cron_slug)."""
    schedule, zone = split_zone(schedule)
    schedule = canonical_schedule(schedule)
    if schedule.startswith("@"):
        slug = schedule[1:]
    elif schedule == "* * * * *":
        slug = "every_minute"
    elif duration_seconds(schedule) is not None:
        slug = f"every_{schedule}"
    else:
        slug = _cron_slug(schedule)
    if zone == UTC_ZONE:
        return slug
    # Etc/GMT+3 and Etc/GMT-3 are different zones
    zone = re.sub(r"-(?=\d)", "_minus_", zone.replace("+", "_plus_"))
    return f"{slug}_{re.sub(r'[^0-9a-z]+', '_', zone.lower()).strip('_')}"


def scheduled_dag_id(schedule: str) -> str:
    """The id of the DAG that ingests a schedule's sources: news_ingest_hourly, news_ingest_every_15m."""
    return f"news_ingest_{schedule_slug(schedule)}"


# names the system's tz folder answers to that are no zone of their own: posix/Asia/Tokyo (Asia/Tokyo under a second
# name, hence another DAG id), right/UTC (clocks that count leap seconds, 27 s off), the machine's own `localtime`
_NOT_ZONE_NAMES = re.compile(r"^(posix|right)/|^(localtime|posixrules|Factory)$")


def _check_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    # a region alone ("Europe", "America") names a folder of the tz database: ZoneInfo raises IsADirectoryError
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {value!r} (use an IANA name such as 'Asia/Beirut')") from None
    if _NOT_ZONE_NAMES.search(value):
        plain = value.partition("/")[2] if "/" in value else "Asia/Beirut"
        raise ValueError(f"{value!r} is not a time zone name of the tz database (use an IANA name such as {plain!r})")
    # one name for UTC: the warehouse's last_complete_day reads `UTC` as "no zone of its own", and `Etc/UTC` was judged
    # as a zone (a Hawaii outlet's evening a zero day in coverage_gaps)
    return canonical_zone(value)


def _describe(error: dict, raw: dict) -> str:
    loc = list(error["loc"])
    where = []
    if loc and loc[0] == "sources" and len(loc) > 1 and isinstance(loc[1], int):
        index = loc[1]
        entry = (raw.get("sources") or [])[index] if isinstance(raw.get("sources"), list) else None
        label = f"sources[{index}]"
        if isinstance(entry, dict) and entry.get("name"):
            label += f" (name {entry['name']!r})"
        where.append(label)
        # pydantic puts the discriminator value in the path (sources.0.feed.url); it is noise for a person. Only at
        # that place: a urls source's own `urls` field has the kind's name, and went with it ("field '0'" for an
        # entry of the list, "field 'urls.urls'" for a list that is none)
        rest = loc[2:]
        if len(rest) > 1 and rest[0] in ("feed", "sitemap", "urls", "warc"):
            rest = rest[1:]
    else:
        rest = loc
    field = ".".join(str(p) for p in rest)
    if field:
        where.append(f"field '{field}'")
    msg = error["msg"]
    if error["type"] == "extra_forbidden" and loc:
        msg = _unknown_key(str(loc[-1]), loc[:-1])
    elif error["type"] == "union_tag_invalid":
        msg = "kind must be one of feed, sitemap, urls, warc"
    elif error["type"] == "union_tag_not_found":
        msg = "missing 'kind' (one of feed, sitemap, urls, warc)"
    return f"{', '.join(where) or 'top level'}: {msg}"


def _unknown_key(key: str, path: list) -> str:
    """What to say of a key the mapping at `path` does not take: the nearest it does (a typo such as `timezon` or
    `min_body_char`), else where the key belongs when another part of the file takes it (`min_body_chars` on a
    source is a setting), else every key it takes. Pydantic's own "Extra inputs are not permitted" said none."""
    from difflib import get_close_matches

    models = {"settings": Settings, "revisit": RevisitPolicy, "feed": FeedSource, "sitemap": SitemapSource,
              "urls": UrlsSource, "warc": WarcSource}
    model: type[BaseModel] = SourcesFile
    for part in path:  # the path names each mapping met (a source by its kind), list indexes aside
        model = models.get(part, model) if isinstance(part, str) else model
    keys = sorted(model.model_fields)
    if near := get_close_matches(key, keys, n=1, cutoff=0.75):
        return f"unknown key {key!r}: did you mean {near[0]!r}?"
    places = (("settings", Settings), ("a source", _SourceBase), ("a feed or sitemap source", _ListingSource),
              ("a urls source", UrlsSource), ("a warc source", WarcSource), ("revisit", RevisitPolicy))
    elsewhere = [name for name, other in places if not issubclass(model, other) and key in other.model_fields]
    if elsewhere:
        return f"unknown key {key!r} here: it belongs in {elsewhere[0]}"
    return f"unknown key {key!r} (the keys here: {', '.join(keys)})"


_MERGE_TAG = "tag:yaml.org,2002:merge"
# A merge key copies the pairs of each mapping it names into its own: `<<: [*d, *d, ...]` naming a mapping of 10,000
# keys 500,000 times, a 2 MB file, had PyYAML visit 5e9 pairs (minutes of CPU in `newsflow check`, `ingest` and the
# DAG processor at every parse). A sources file's merges copy a few keys per source.
MAX_MERGED_PAIRS = 1_000_000


class _UniqueKeyLoader(yaml.SafeLoader):
    """safe_load that refuses a key given twice in one mapping. YAML keeps the last one without a word, so a second
    `settings:` block would silently replace the first, and a repeated `url:` pick one of two feeds. Keys a merge
    (`<<: *defaults`) brings in may be given again: overriding them is what a merge is for."""

    def __init__(self, stream):
        super().__init__(stream)
        self.written_keys: dict[yaml.Node, list[yaml.Node]] = {}
        self.merged_pairs = 0

    def flatten_mapping(self, node):
        # recorded before the first flattening, which mixes the merged keys in: a mapping another one merges may be
        # flattened through that one before it is constructed itself
        self.written_keys.setdefault(node, [key for key, _value in node.value if key.tag != _MERGE_TAG])
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE_TAG:
                continue
            for merged in value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]:
                if isinstance(merged, yaml.MappingNode):  # anything else: PyYAML's own error
                    self.flatten_mapping(merged)  # as super() does first; flattened once, its merge keys gone
                    self.merged_pairs += len(merged.value)
                    if self.merged_pairs > MAX_MERGED_PAIRS:
                        raise yaml.constructor.ConstructorError(
                            None, None, f"merge keys (<<) copy more than {MAX_MERGED_PAIRS:,} keys, far more than a "
                            "sources file needs", key_node.start_mark)
        super().flatten_mapping(node)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)
        seen = set()
        for key_node in self.written_keys.get(node, []):
            key = self.construct_object(key_node, deep=deep)
            try:
                if key in seen:
                    raise yaml.constructor.ConstructorError(None, None, f"the key {key!r} is given twice in one mapping",
                                                            key_node.start_mark)
                seen.add(key)
            except TypeError:  # an unhashable key: the model rejects it with its own message
                continue
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        try:
            return super().construct_yaml_int(node)
        except ValueError:  # Python reads no more than 4,300 digits as an integer
            raise yaml.constructor.ConstructorError(None, None, f"a number of {len(node.value)} digits, longer than "
                                                    "any setting takes", node.start_mark) from None

    def construct_yaml_timestamp(self, node):
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:  # YAML types 2024-13-45 as a date by its shape; datetime refuses the month
            raise yaml.constructor.ConstructorError(None, None, f"{node.value!r} is no date ({exc})",
                                                    node.start_mark) from None

    def construct_yaml_str(self, node):
        # YAML's "\ud800" escape makes half of a UTF-16 pair, no character: such a URL or name could be neither
        # fetched nor written to the ledger (Parquet refuses it), and failed the source's stage instead of here
        # (a pair written as two escapes, "\ud83d\udd25", is joined)
        value = super().construct_yaml_str(node)
        if LONE_SURROGATE.search(value):
            try:
                return value.encode("utf-16", "surrogatepass").decode("utf-16")
            except UnicodeDecodeError:
                raise yaml.constructor.ConstructorError(None, None, "a \\u escape that is half of a UTF-16 pair, "
                                                        "no character", node.start_mark) from None
        return value


_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:str", _UniqueKeyLoader.construct_yaml_str)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:int", _UniqueKeyLoader.construct_yaml_int)
_UniqueKeyLoader.add_constructor("tag:yaml.org,2002:timestamp", _UniqueKeyLoader.construct_yaml_timestamp)


# One mistake copied into a thousand entries (a misspelt kind) gave a thousand lines, in the console and as the DAG
# file's import error in the UI: the first ones say what to fix.
MAX_PROBLEMS_SHOWN = 20


def parse_sources(text: str, origin: str = "<string>") -> SourcesFile:
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from None
    except RecursionError:  # PyYAML builds nested collections recursively: a few hundred levels reach Python's limit
        raise ConfigError(f"{origin}: not valid YAML: nested too deeply to read (a sources file needs a handful of "
                          "levels)") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{origin}: expected a mapping with a 'sources:' list at the top level")
    try:
        return SourcesFile.model_validate(raw, context={AS_WRITTEN: True})
    except ValidationError as exc:
        lines = [f"{origin}: {_describe(e, raw)}" for e in exc.errors()[:MAX_PROBLEMS_SHOWN]]
        if exc.error_count() > MAX_PROBLEMS_SHOWN:
            lines.append(f"... and {exc.error_count() - MAX_PROBLEMS_SHOWN} more problem(s) of this file")
        raise ConfigError("invalid sources file\n  " + "\n  ".join(lines)) from None


# The DAG processor reads the sources file at every parse; YAML reads ~2 MB a second here, so a file past this
# (tens of thousands of inline URLs) would stall every parse: such a list belongs in a `urls_file`, read by its run.
MAX_SOURCES_FILE_BYTES = 8 * 1024 * 1024


def load_sources(path: str | os.PathLike) -> SourcesFile:
    path = Path(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_SOURCES_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: sources file not found") from None
    except (OSError, UnicodeError) as exc:  # UnicodeEncodeError: a path no file name can spell (a lone surrogate)
        raise ConfigError(f"{path}: cannot read sources file: {exc}") from None
    if len(data) > MAX_SOURCES_FILE_BYTES:
        raise ConfigError(f"{path}: over {MAX_SOURCES_FILE_BYTES // 2**20} MB, more than a sources file needs: put a "
                          "long list of URLs in a file of its own and name it with 'urls_file'")
    # YAML allows UTF-16 and UTF-32 marked by a byte-order mark: what Windows Notepad saves as "Unicode".
    encoding = bom_encoding(data) or "utf-8"
    try:
        text = data.decode(encoding).lstrip("\ufeff")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1 if encoding == "utf-8" else None
        where = f"line {line}: " if line else ""
        raise ConfigError(f"{path}: {where}not {encoding.upper()} text (byte 0x{data[exc.start]:02x} at offset "
                          f"{exc.start}); save the sources file as UTF-8") from None
    return parse_sources(text, str(path))


def project_root() -> Path:
    return Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    return Path(os.environ.get("NEWSFLOW_DATA_DIR") or project_root() / "data").resolve()


def warehouse_location(location: str | os.PathLike | None = None) -> str:
    """The lake to use: `location` if given, else $NEWSFLOW_WAREHOUSE, else `<data dir>/warehouse`. A folder (made
    absolute, so every process agrees on it) or a `postgres:` catalog string (kept as written). Read at the CLI
    and DAG boundaries only; inside the pipeline the location travels as an argument."""
    value = str(location) if location else os.environ.get("NEWSFLOW_WAREHOUSE", "").strip()
    if not value:
        return str(data_dir() / "warehouse")
    if value.startswith("postgres:"):
        return value
    return str(Path(value).expanduser().resolve())


def shown_location(text: str) -> str:
    """`text` with the password of any Postgres connection string in it hidden: a `postgres:` location may carry
    one (`password=...`), and DuckDB's own errors quote the whole string (task logs are served to every user)."""
    text = re.sub(r"(password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|[^\s'\"]+)", r"\1***", text)
    return re.sub(r"(postgres(?:ql)?://[^/:@\s]*:)[^@\s]*@", r"\1***@", text)


def lake_data_location() -> str | None:
    """$NEWSFLOW_LAKE_DATA, where a Postgres-catalogued lake keeps its data files: a folder made absolute (every
    process, `up`'s components in the project folder too, must agree on it), an object-store URL as written, or
    None when unset."""
    value = os.environ.get("NEWSFLOW_LAKE_DATA", "").strip()
    if not value or "://" in value:
        return value or None
    return str(Path(value).expanduser().resolve())


def password_problem(location: str) -> str | None:
    """Why a lake location cannot be handed to a run, or None: a `password=` in it would be kept in what the Airflow
    UI shows every user (a run's conf, the plan's jobs in its XCom and each mapped task's rendered arguments, the
    load's asset event)."""
    shown = shown_location(location)
    if shown == location:
        return None
    return (f"{shown} carries a password, which a run would keep in its conf, task arguments and asset events for "
            "every Airflow user to read: give it as PGPASSWORD (or ~/.pgpass) and leave it out of the location")


def warehouse_path() -> str:
    """The default lake location (kept for callers that only print it)."""
    return warehouse_location()


def sql_dir() -> Path:
    """The project's sql/ folder, or the copy $NEWSFLOW_SQL_DIR names (the Docker image's). A folder without its
    schema/ (a typo, a volume not mounted) is said by name: with no migration files the lake looked migrated by a
    newer newsflow, and a new one was made without tables."""
    value = os.environ.get("NEWSFLOW_SQL_DIR", "").strip()
    if not value:
        return project_root() / "sql"
    if not (Path(value) / "schema").is_dir():
        raise ConfigError(f"NEWSFLOW_SQL_DIR={value!r}: no copy of newsflow's sql/ folder there (it has no schema/)")
    return Path(value)
