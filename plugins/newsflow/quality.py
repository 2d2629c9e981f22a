"""Record validation with Great Expectations: the article suite is built in code at task run time (never at DAG
parse time); every failed expectation is named on the rows it rejects, and per-expectation results are kept.
"""

from __future__ import annotations

import json
import logging
import os
import re
import warnings
from dataclasses import dataclass

log = logging.getLogger(__name__)

SUITE_NAME = "newsflow_articles"
EARLIEST_DATE = "1990-01-01"
MAX_LINK_DENSITY = 0.5
# Chinese, Japanese and Korean say in one character what Latin scripts say in two to three (a Chinese translation
# of an English text has about a third of its characters, Japanese and Korean about half), so a CJK character counts
# as two toward min_body_chars: a 100-character news brief from Beijing or Seoul is a story, as a 200-character
# one in English is, and a 150-character English teaser still is not.
CJK_CHAR_WEIGHT = 2
_CJK_CHARS = re.compile(
    # Hangul jamo, CJK punctuation (a full-width "，" stands for ", "), kana, Hangul, Han, compatibility ideographs,
    # full-width forms, the Han extensions
    "[\u1100-\u11ff\u3000-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
    "\uff00-\uffef\U00020000-\U0003134f]"
)


def body_size(body: str | None) -> int | None:
    """The body's length as min_body_chars counts it: characters, a Chinese, Japanese or Korean one counting as
    CJK_CHAR_WEIGHT."""
    if body is None:
        return None
    return len(body) + (CJK_CHAR_WEIGHT - 1) * len(_CJK_CHARS.findall(body))


@dataclass
class ValidationOutcome:
    valid: list[dict]
    rejected: list[dict]  # each with "reasons" and "failed_expectations"
    results: list[dict]  # one per expectation (VALIDATION staging schema)


def _expectation_name(config) -> tuple[str, str]:
    kwargs = config.kwargs
    column = kwargs.get("column") or f"{kwargs.get('column_A')},{kwargs.get('column_B')}"
    return config.type, column


# The reason vocabulary for rejections (documented in README): expectation -> short reason per column
_REASONS = {
    ("expect_column_values_to_not_be_null", "url"): "missing_url",
    ("expect_column_values_to_be_unique", "url"): "duplicate_url",
    ("expect_column_values_to_not_be_null", "published_at"): "missing_date",
    ("expect_column_values_to_be_between", "published_at"): "date_before_1990",
    ("expect_column_pair_values_a_to_be_greater_than_b", "latest_allowed_date,published_at"): "future_date",
    ("expect_column_values_to_not_be_null", "source"): "missing_source",
    ("expect_column_values_to_be_in_set", "source"): "unknown_source",
    ("expect_column_values_to_be_between", "body_size"): "body_too_short",
    ("expect_column_value_lengths_to_be_between", "body"): "body_too_long",
    ("expect_column_values_to_not_be_null", "body"): "missing_body",
    ("expect_column_values_to_be_between", "link_density"): "navigation_page",
    ("expect_column_values_to_not_be_null", "language"): "missing_language",
    ("expect_column_values_to_match_regex", "language"): "bad_language_code",
}


def import_gx():
    """great_expectations with its INFO records off. Its import alone logs ~3,400 lines ("Skipping registering
    function ..."): 110 KB in every validate task's log, and 70 % of the service's scheduler output, which repeats
    the task logs. Its warnings and errors still show."""
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    return gx


def build_suite(known_sources: list[str], min_body_chars: int, max_body_chars: int):
    gx = import_gx()
    import great_expectations.expectations as gxe
    import pandas as pd

    suite = gx.ExpectationSuite(name=SUITE_NAME)
    for expectation in (
        gxe.ExpectColumnValuesToNotBeNull(column="url"),
        gxe.ExpectColumnValuesToBeUnique(column="url"),
        gxe.ExpectColumnValuesToNotBeNull(column="published_at"),
        gxe.ExpectColumnValuesToBeBetween(column="published_at", min_value=pd.Timestamp(EARLIEST_DATE, tz="UTC")),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A="latest_allowed_date", column_B="published_at", or_equal=True, ignore_row_if="either_value_is_missing"
        ),
        gxe.ExpectColumnValuesToNotBeNull(column="source"),
        gxe.ExpectColumnValuesToBeInSet(column="source", value_set=sorted(known_sources)),
        gxe.ExpectColumnValuesToNotBeNull(column="body"),
        gxe.ExpectColumnValuesToBeBetween(column="body_size", min_value=min_body_chars),  # see body_size
        gxe.ExpectColumnValueLengthsToBeBetween(column="body", max_value=max_body_chars),
        # a body made of link texts is a section or index page, not a story
        gxe.ExpectColumnValuesToBeBetween(column="link_density", max_value=MAX_LINK_DENSITY),
        gxe.ExpectColumnValuesToNotBeNull(column="language"),
        gxe.ExpectColumnValuesToMatchRegex(column="language", regex=r"^[a-z]{2}$"),
    ):
        suite.add_expectation(expectation)
    return suite


def _context():
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
    gx = import_gx()
    context = gx.get_context(mode="ephemeral")
    try:
        context.variables.progress_bars = {"globally": False, "metric_calculations": False}
    except Exception:  # noqa: BLE001 - cosmetic only
        pass
    return context


class ArticleValidator:
    """One Great Expectations context, suite and batch definition, reused for every batch of a source's records
    (a context per batch costs time and memory that grow with the run)."""

    def __init__(self, *, source: str, known_sources: list[str], min_body_chars: int = 200,
                 max_body_chars: int = 1_000_000):
        self.source = source
        self._suite_args = (known_sources, min_body_chars, max_body_chars)
        self._batch_definition = self._suite = None

    def _prepare(self) -> None:
        # made on first use: a run with nothing new to validate (an incremental run) never imports Great
        # Expectations, which costs ~5 s
        context = _context()
        self._batch_definition = (
            context.data_sources.add_pandas("newsflow")
            .add_dataframe_asset(f"articles_{self.source}")
            .add_batch_definition_whole_dataframe("run")
        )
        self._suite = build_suite(*self._suite_args)

    def validate(self, records: list[dict]) -> ValidationOutcome:
        if not records:
            return ValidationOutcome([], [], [])
        if self._suite is None:
            self._prepare()
        return self._validate(records)

    def _validate(self, records: list[dict]) -> ValidationOutcome:
        import pandas as pd

        source = self.source
        frame = pd.DataFrame(
            {
                "url": [r.get("url") for r in records],
                "source": [r.get("source") for r in records],
                "body": [r.get("body") if r.get("body") else None for r in records],
                "body_size": pd.array([body_size(r.get("body") or None) for r in records], dtype="Int64"),
                "language": [r.get("language") for r in records],
                "link_density": [float(r.get("link_density") or 0.0) for r in records],
                "published_at": pd.to_datetime([r.get("published_at") for r in records], utc=True),
                "latest_allowed_date": pd.to_datetime([r.get("fetched_at") for r in records], utc=True) + pd.Timedelta(days=1),
            }
        )
        batch = self._batch_definition.get_batch(batch_parameters={"dataframe": frame})
        with warnings.catch_warnings():
            # GX 1.24 lists a column pair's unexpected values through Series.values, which pandas 3.1 deprecates for
            # tz-aware columns (Pandas4Warning, once per batch in every task log). Under pandas 4 those values
            # become Timestamps instead of numpy datetimes; newsflow reads only the failing rows' indexes.
            warnings.filterwarnings("ignore", message="Series.values returning an ndarray that drops timezone")
            result = batch.validate(self._suite, result_format={"result_format": "COMPLETE"})

        failures: dict[int, list[tuple[str, str]]] = {}
        results = []
        for item in result.results:
            name, column = _expectation_name(item.expectation_config)
            if error := expectation_error(item):
                # an expectation that could not run cannot vouch for any row: fail loudly rather than pass silently
                raise RuntimeError(f"expectation {name} on {column} raised: {error}")
            indexes = item.result.get("unexpected_index_list") or []
            for index in indexes:
                failures.setdefault(int(index), []).append((name, column))
            results.append(
                {
                    "source": source,
                    "expectation": name,
                    "column_name": column,
                    "success": bool(item.success),
                    "element_count": int(item.result.get("element_count") or len(records)),
                    "unexpected_count": int(item.result.get("unexpected_count") or 0),
                    "unexpected_percent": float(item.result.get("unexpected_percent") or 0.0),
                    "details": json.dumps({"kwargs": _jsonable(item.expectation_config.kwargs)}, default=str),
                }
            )

        valid, rejected = [], []
        for index, record in enumerate(records):
            failed = failures.get(index)
            if not failed:
                valid.append(record)
                continue
            reasons = []
            for name, column in failed:
                reason = _REASONS.get((name, column), f"{name}:{column}")
                if reason == "missing_date" and record.get("date_reason"):
                    reason = record["date_reason"]
                if reason not in reasons:
                    reasons.append(reason)
            rejected.append({**record, "reasons": reasons, "failed_expectations": [f"{n}({c})" for n, c in failed]})
        return ValidationOutcome(valid, rejected, results)


def merge_results(batches: list[list[dict]]) -> list[dict]:
    """Per-expectation results of several validation batches, summed as if validated at once."""
    merged: dict[tuple[str, str], dict] = {}
    for batch in batches:
        for item in batch:
            key = (item["expectation"], item["column_name"])
            if key not in merged:
                merged[key] = dict(item)
                continue
            total = merged[key]
            total["success"] = total["success"] and item["success"]
            total["element_count"] += item["element_count"]
            total["unexpected_count"] += item["unexpected_count"]
    for total in merged.values():
        count = total["element_count"] or 1
        total["unexpected_percent"] = 100.0 * total["unexpected_count"] / count
    return list(merged.values())


def _jsonable(kwargs) -> dict:
    out = {}
    for key, value in dict(kwargs).items():
        if key in ("batch_id",):
            continue
        out[key] = value if isinstance(value, (str, int, float, bool, type(None), list)) else str(value)
    return out


def expectation_error(item) -> str | None:
    """Why an expectation's result could not be computed, else None. GX 1.x files the error under the metric that
    raised (`exception_info = {metric id: {"raised_exception": True, "exception_message": ...}}`), not at the top
    level, where reading it found nothing: a failure recorded as "0 unexpected" with no reason."""
    info = item.exception_info or {}
    for found in (info, *(value for value in info.values() if isinstance(value, dict))):
        if found.get("raised_exception"):
            return str(found.get("exception_message") or "the expectation raised")
    return None
