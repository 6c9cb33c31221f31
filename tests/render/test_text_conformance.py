"""X's weighted counting against the official twitter-text conformance cases (Apache-2.0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from crosspost_x.adapter import XAdapter
from twitter_text import parse_tweet
from twitter_text.config import config

X_RULES = XAdapter.rules  # X's own rules, as its adapter declares them

VALIDATE = (
    Path(__file__).resolve().parents[3]
    / "shared"
    / "conformance"
    / "twitter-text"
    / "conformance"
    / "validate.yml"
)
SECTIONS = {
    "WeightedTweetsCounterTest": "version2",
    "WeightedTweetsWithDiscountedEmojiCounterTest": "version3",
    "UnicodeDirectionalMarkerCounterTest": "defaults",
}


def _cases() -> list[Any]:
    if not VALIDATE.exists():
        return []
    tests = yaml.safe_load(VALIDATE.read_text(encoding="utf-8"))["tests"]
    return [
        pytest.param(section, case, id=f"{section}:{case['description']}")
        for section in SECTIONS
        for case in tests[section]
    ]


CASES = _cases()
pytestmark = pytest.mark.skipif(not CASES, reason="shared/conformance/twitter-text is absent")


def test_all_44_weighted_cases_are_present() -> None:
    assert len(CASES) == 44


@pytest.mark.parametrize(("section", "case"), CASES)
def test_weighted_length(section: str, case: dict[str, Any]) -> None:
    options = {"emoji_parsing_enabled": False, **config[SECTIONS[section]]}
    result = parse_tweet(case["text"], options).asdict()
    assert result == case["expected"]


@pytest.mark.parametrize(
    ("section", "case"), [c for c in CASES if c.values[0] != "WeightedTweetsCounterTest"]
)
def test_core_x_rules_count_like_v3(section: str, case: dict[str, Any]) -> None:
    assert X_RULES.count(case["text"]) == case["expected"]["weightedLength"]
    assert X_RULES.fits(case["text"]) == (case["expected"]["weightedLength"] <= 280)
