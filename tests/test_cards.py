"""Model-card rendering: rows that must not crash on small or empty groups."""
from ecgcore.models.cards import quality_row


def test_an_empty_quality_group_says_it_has_no_records():
    g = {"records": 0, "flagged_rate": None, "not_assessable_rate": None,
         "by_code_rate": {"flat": None, "noise": None}}
    row = quality_row("burst_noise", g)
    assert row.startswith("| burst_noise | 0 |") and "no records" in row


def test_a_quality_row_names_the_most_common_problem():
    g = {"records": 20, "flagged_rate": 0.25, "not_assessable_rate": 0.05,
         "by_code_rate": {"flat": 0.05, "noise": 0.2}}
    assert quality_row("static_noise", g) == "| static_noise | 20 | 25.0% | 5.0% | noise (20.0%) |"
