"""The pure arithmetic behind the insights, without a database:

- Welch's t-test, the two-proportion z-test and Benjamini-Hochberg against values from
  SciPy and R (scipy.stats.ttest_ind(equal_var=False), prop.test(correct=FALSE),
  p.adjust(method="BH"));
- c-TF-IDF ranks a class's own words first; over-represented items need support;
- emotion buckets: Monday-first weeks clipped to the window, the rolling average reads
  days before the window;
- shift windows are adjacent and not-enough-data names the short window.
"""

from __future__ import annotations

import datetime as dt

import pytest
from journal_api.repositories import emotion_days
from journal_api.services import emotions, shifts, significance, terms

ONE_DAY = dt.timedelta(days=1)


def test_welch_matches_scipy() -> None:
    result = significance.welch([1, 2, 3, 4, 5], [3, 4, 5, 6, 7, 8])
    assert result.statistic == pytest.approx(-2.4019223, abs=1e-6)
    assert result.df == pytest.approx(8.9893617, abs=1e-6)
    assert result.p_value == pytest.approx(0.0398031, abs=1e-6)


def test_t_distribution_tails() -> None:
    assert significance.t_two_sided(2.0, 10) == pytest.approx(0.0733880, abs=1e-6)
    assert significance.t_two_sided(1.0, 1) == pytest.approx(0.5, abs=1e-9)
    assert significance.t_two_sided(0.0, 5) == pytest.approx(1.0)


def test_samples_without_spread_are_no_evidence() -> None:
    assert significance.welch([0.5, 0.5], [0.5, 0.5, 0.5]).p_value == 1.0
    assert significance.two_proportions(0, 10, 0, 20).p_value == 1.0


def test_two_proportions_matches_prop_test() -> None:
    result = significance.two_proportions(30, 100, 15, 100)
    assert result.statistic == pytest.approx(2.5400025, abs=1e-6)
    assert result.p_value == pytest.approx(0.0110852, abs=1e-6)


def test_benjamini_hochberg_matches_p_adjust() -> None:
    adjusted = significance.benjamini_hochberg([0.01, 0.04, 0.03, 0.5])
    assert adjusted == pytest.approx([0.04, 0.0533333, 0.0533333, 0.5], abs=1e-6)


def test_class_tfidf_ranks_a_class_s_own_words_first() -> None:
    weights = terms.class_tfidf(
        [
            terms.tokens("Bread dough in the oven. The bread rose; my bread!"),
            terms.tokens("A long bike ride, then the bike needed a new chain."),
        ]
    )
    assert terms.top(weights[0], limit=2) == ["bread", "dough"]
    assert terms.top(weights[1], limit=1) == ["bike"]
    assert "the" not in weights[0]


def test_over_represented_needs_two_entries_and_a_higher_share() -> None:
    group = [["work", "late"], ["work"], ["gym"]]
    other = [["gym"], ["gym"], ["family"]]
    [item] = terms.over_represented(group, other)
    assert (item.name, item.share, item.other_share) == ("work", 0.667, 0.0)


def day(d: dt.date, entries: int, polarity_sum: float) -> emotion_days.Day:
    return emotion_days.Day(
        d, entries, (0.5,) * 28, {"joy": entries}, {"positive": entries}, polarity_sum
    )


def test_weeks_start_on_monday_are_clipped_and_roll_over_earlier_days() -> None:
    start, end = dt.date(2026, 3, 4), dt.date(2026, 3, 17)  # a Wednesday to a Tuesday
    rows = [day(dt.date(2026, 2, 20), 1, -0.5), day(start, 2, 1.0), day(end, 1, 0.5)]
    body = emotions.trend(rows, start=start, end=end, bucket="week", timezone="UTC")
    spans = [(b.start, b.end) for b in body.buckets]
    assert spans == [
        (start, dt.date(2026, 3, 8)),
        (dt.date(2026, 3, 9), dt.date(2026, 3, 15)),
        (dt.date(2026, 3, 16), end),
    ]
    first = body.buckets[0]
    assert (first.entries, first.polarity, first.ekman) == (2, 0.5, {"joy": 1.0})
    # The rolling average of the first week reads the February day before the window.
    assert first.polarity_rolling == pytest.approx((1.0 - 0.5) / 3, abs=1e-4)
    assert body.entries == 3
    assert emotions.first_needed(start, "week") == dt.date(2026, 2, 9)


def test_shift_windows_are_adjacent_and_a_short_window_is_named() -> None:
    (r_start, r_end), (b_start, b_end) = shifts.windows(
        today=dt.date(2026, 3, 31), recent_days=14, baseline_days=28
    )
    assert (r_start, r_end) == (dt.date(2026, 3, 18), dt.date(2026, 3, 31))
    assert (b_start, b_end) == (dt.date(2026, 2, 18), dt.date(2026, 3, 17))
    rows = [day(r_start + k * ONE_DAY, 2, 0.5) for k in range(6)]
    rows += [day(b_start + k * ONE_DAY, 1, 0.5) for k in range(4)]
    recent = shifts.side(rows, start=r_start, end=r_end)
    baseline = shifts.side(rows, start=b_start, end=b_end)
    message = shifts.shortfall(recent, baseline)
    assert message is not None
    assert "the baseline window has 4 analysed entries on 4 days" in message
    assert "recent" not in message.split(":", 1)[1].split(";")[0]
