"""The Great Expectations record suite: every failing rule is named on the row it rejects, batches merge."""

from __future__ import annotations

import subprocess
import sys
import textwrap
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


def test_a_cjk_character_counts_twice_toward_the_minimum_body():
    """A news brief of ~100 Chinese, Japanese or Korean characters carries what ~200-300 Latin ones do: it passes
    min_body_chars=200; a 150-character English teaser and a 90-character Chinese line do not."""
    from newsflow.quality import body_size

    zh = "新华社北京6月24日电 国务院总理今天主持召开国务院常务会议，部署进一步做好稳就业工作，决定延续实施部分阶段性减负政策，确定支持高校毕业生等重点群体就业的措施，会议要求各地区各部门压实责任，确保政策落地见效。"
    ja = "気象庁によりますと、24日午前11時半ごろ、関東地方で震度4の揺れを観測する地震がありました。この地震による津波の心配はありません。震源地は茨城県南部で、震源の深さは約50キロ、地震の規模を示すマグニチュードは5.0と推定されています。"
    ko = "서울시는 24일 시내버스 요금을 다음 달부터 인상한다고 밝혔다. 시는 연료비와 인건비 상승으로 운송 적자가 커져 요금 조정이 불가피하다고 설명했다. 교통카드 기준 기본요금은 1,200원에서 1,500원으로 오른다. 청소년과 어린이 요금도 함께 조정된다."
    en = "Council approves budget. The city council voted on Monday to approve the new budget, officials said, " \
         "with more details expected later this week from the mayor."
    assert 90 <= len(zh) < 200 and 90 <= len(ja) < 200 and 90 <= len(ko) < 200 and len(en) < 200
    assert body_size(zh) >= 200 and body_size(ja) >= 200 and body_size(ko) >= 200
    assert body_size(en) == len(en) and body_size(None) is None
    validator = ArticleValidator(source="alhadath", known_sources=["alhadath"], min_body_chars=200)
    outcome = validator.validate([
        record("https://a.example/zh", body=zh, language="zh", body_chars=len(zh)),
        record("https://a.example/ja", body=ja, language="ja", body_chars=len(ja)),
        record("https://a.example/ko", body=ko, language="ko", body_chars=len(ko)),
        record("https://a.example/en", body=en, language="en", body_chars=len(en)),
        record("https://a.example/zh-line", body=zh[:90], language="zh", body_chars=90),
        record("https://a.example/long", body="x" * 1_000_001, language="en", body_chars=1_000_001),
    ])
    assert sorted(r["url"].rsplit("/", 1)[1] for r in outcome.valid) == ["ja", "ko", "zh"]
    assert {r["url"].rsplit("/", 1)[1]: r["reasons"] for r in outcome.rejected} == {
        "en": ["body_too_short"], "zh-line": ["body_too_short"], "long": ["body_too_long"]}


def test_validation_logs_no_great_expectations_chatter():
    # a fresh interpreter, as a task is: importing GX logged thousands of INFO lines, 110 KB in every validate
    # task's log and repeated in the service's scheduler output; its warnings still reach the log
    script = textwrap.dedent("""
        import logging, sys
        records = []
        class Keep(logging.Handler):
            def emit(self, record):
                records.append(record)
        logging.basicConfig(level=logging.INFO, handlers=[Keep()])
        from datetime import UTC, datetime
        from newsflow.quality import ArticleValidator
        outcome = ArticleValidator(source="a", known_sources=["a"], min_body_chars=10).validate([{
            "url": "https://a.example/1", "source": "a", "body": "Новости дня " * 10, "language": "ru",
            "link_density": 0.0, "published_at": datetime(2026, 12, 1, tzinfo=UTC),
            "fetched_at": datetime(2026, 12, 2, tzinfo=UTC), "body_chars": 120, "date_reason": None}])
        assert len(outcome.valid) == 1
        chatter = [r for r in records if r.name.startswith("great_expectations") and r.levelno < logging.WARNING]
        logging.getLogger("great_expectations.data_context").warning("still shown")
        print(len(chatter), sum(r.getMessage() == "still shown" for r in records))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=True)
    chatter, shown = map(int, out.stdout.split())
    # one INFO line is left: GX sets the level of its data_context.types.base logger itself ("Created temporary
    # directory ... for ephemeral docs site", once per context); the code before logged 218 lines here
    assert chatter <= 2 and shown == 1, out.stdout + out.stderr[-2000:]
