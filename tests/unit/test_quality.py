"""The Great Expectations record suite: every failing rule is named on the row it rejects, batches merge."""

from __future__ import annotations

from datetime import UTC, datetime

from newsflow.quality import ArticleValidator, merge_results

FETCHED = datetime(2018, 6, 1, tzinfo=UTC)


def record(url: str, **overrides) -> dict:
    row = {
        "url": url, "source": "alhadath", "body": "نص الخبر " * 40, "language": "ar", "link_density": 0.05,
        "published_at": datetime(2018, 5, 21, 9, 23, tzinfo=UTC), "fetched_at": FETCHED, "body_chars": 360,
        "date_reason": None,
    }
    row.update(overrides)
    return row


def test_each_rule_names_its_reason():
    validator = ArticleValidator(source="alhadath", known_sources=["alhadath", "herald"], min_body_chars=200)
    outcome = validator.validate([
        record("https://a.example/ok"),
        record("https://a.example/nodate", published_at=None, date_reason="missing_date"),
        record("https://a.example/future", published_at=datetime(2018, 6, 5, tzinfo=UTC)),
        record("https://a.example/old", published_at=datetime(1985, 1, 1, tzinfo=UTC)),
        record("https://a.example/short", body="قصير", body_chars=4),
        record("https://a.example/nav", link_density=0.9),
        record("https://a.example/lang", language="arabic"),
        record("https://a.example/src", source="elsewhere"),
    ])
    assert [r["url"] for r in outcome.valid] == ["https://a.example/ok"]
    reasons = {r["url"].rsplit("/", 1)[1]: r["reasons"] for r in outcome.rejected}
    assert reasons == {
        "nodate": ["missing_date"],
        "future": ["future_date"],
        "old": ["date_before_1990"],
        "short": ["body_too_short"],
        "nav": ["navigation_page"],
        "lang": ["bad_language_code"],
        "src": ["unknown_source"],
    }
    assert all(r["failed_expectations"] for r in outcome.rejected)
    failed = {(r["expectation"], r["column_name"]) for r in outcome.results if not r["success"]}
    assert ("expect_column_values_to_be_in_set", "source") in failed


def test_batches_merge_into_one_result_per_expectation():
    validator = ArticleValidator(source="alhadath", known_sources=["alhadath"])
    first = validator.validate([record("https://a.example/1"), record("https://a.example/2", language=None)])
    second = validator.validate([record("https://a.example/3")])
    merged = {(r["expectation"], r["column_name"]): r for r in merge_results([first.results, second.results])}
    language = merged[("expect_column_values_to_not_be_null", "language")]
    assert (language["element_count"], language["unexpected_count"], language["success"]) == (3, 1, False)
    assert merged[("expect_column_values_to_be_unique", "url")]["success"] is True
    assert validator.validate([]).valid == []
