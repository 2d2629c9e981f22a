"""The typed job one source's stages hand each other: the source and settings parsed from the sources file once
(at plan time), the run, its staging folder and the warehouse, serialisable to the small dict XCom carries.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from newsflow.config import RevisitPolicy, Settings, Source

OUTCOMES = ("loaded", "unchanged", "rejected", "failed", "skipped")
# The fetch_log rows that stand for a request made, as SQL: a skipped URL was never asked for, and a known article
# not due for a revisit (`unchanged: not_due`) was listed, not fetched. The quality checks' rates and the wait after
# a 404 or 410 count requests only; sql/views/source_freshness.sql's `last_attempted` says it again in SQL.
REQUESTED = "outcome <> 'skipped' and not (outcome = 'unchanged' and coalesce(reason, '') = 'not_due')"


class AccountingError(RuntimeError):
    """Some discovered URL has no recorded outcome: the run must fail loudly."""


@cache
def _source_adapter():
    from pydantic import TypeAdapter

    return TypeAdapter(Source)


@dataclass(frozen=True)
class Job:
    """One source in one run. Later stages never re-read the sources file: an edit made while a run is in flight
    cannot change the settings half-way through it."""

    run_id: str
    source: object  # one of config's FeedSource / SitemapSource / UrlsSource / WarcSource
    settings: Settings
    known_sources: tuple[str, ...]
    sources_file: str
    staging: Path
    warehouse: str
    summary: dict = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.source.name

    @property
    def timezone(self) -> str:
        """The zone for naive times the publisher prints: the source's, else the file's default."""
        return self.source.timezone or self.settings.timezone

    @property
    def revisit(self) -> RevisitPolicy:
        """The source's revisit policy (the sources file fills it in from settings.revisit)."""
        return self.source.revisit or self.settings.revisit

    def with_summary(self, **counts) -> Job:
        return replace(self, summary={**self.summary, **counts})

    def to_xcom(self) -> dict:
        return {
            "name": self.name,
            "run_id": self.run_id,
            "source": self.source.model_dump(mode="json"),
            "settings": self.settings.model_dump(mode="json"),
            "known_sources": list(self.known_sources),
            "sources_file": self.sources_file,
            "staging": str(self.staging),
            "warehouse": self.warehouse,
            "summary": dict(self.summary),
        }

    @classmethod
    def from_xcom(cls, data: dict | Job) -> Job:
        if isinstance(data, Job):
            return data
        return cls(
            run_id=data["run_id"],
            source=_source_adapter().validate_python(data["source"]),
            settings=Settings.model_validate(data["settings"]),
            known_sources=tuple(data["known_sources"]),
            sources_file=data["sources_file"],
            staging=Path(data["staging"]),
            warehouse=data["warehouse"],
            summary=dict(data.get("summary") or {}),
        )


def peak_rss_mb() -> int:
    """This process's peak memory so far: logged after each stage, so growth can be traced to a stage."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
