import pytest
from crosspost_x.adapter import XAdapter

from crosspost.render.fitting import ELLIPSIS, TextTooLong, fit, split_thread, truncate
from crosspost.render.textrules import URL, TextRules

X_RULES = XAdapter.rules  # X's own rules, as its adapter declares them

SHORT = TextRules(limit=40)
LONG_TEXT = "The quick brown fox jumps over the lazy dog and keeps running far away"


def test_text_that_fits_is_left_alone() -> None:
    assert fit("  hello world  ", SHORT, "reject") == ["hello world"]


def test_truncate_cuts_at_a_word_boundary_with_an_ellipsis() -> None:
    [out] = fit(LONG_TEXT, SHORT, "truncate")
    assert out.endswith(ELLIPSIS)
    assert SHORT.count(out) <= 40
    assert LONG_TEXT.startswith(out.removesuffix(ELLIPSIS))
    assert LONG_TEXT[len(out) - 1] == " "  # the cut fell on a space


def test_truncate_never_cuts_inside_a_url_and_keeps_a_trailing_link() -> None:
    text = "Read about our very long winter opening hours here https://example.com/blog/winter"
    out = truncate(text, TextRules(limit=60))
    assert out.endswith(" https://example.com/blog/winter")
    assert len(out) <= 60
    for match in URL.finditer(out):
        assert match.group() in text


def test_truncate_does_not_split_a_url_in_the_middle() -> None:
    text = "see https://example.com/" + "a" * 60 + " and more words after it"
    out = truncate(text, TextRules(limit=50))
    assert out == "see" + ELLIPSIS


def test_thread_parts_are_numbered_and_each_fits() -> None:
    rules = TextRules(limit=50, threads=True)
    parts = fit(LONG_TEXT * 3, rules, "thread")
    assert len(parts) > 1
    for number, part in enumerate(parts, 1):
        assert part.endswith(f" {number}/{len(parts)}")
        assert rules.count(part) <= 50
    rebuilt = " ".join(p.rsplit(" ", 1)[0] for p in parts)
    assert rebuilt.split() == (LONG_TEXT * 3).split()


def test_thread_with_x_weighting_counts_cjk_double() -> None:
    text = "日本語の文章 " * 60
    parts = split_thread(text, X_RULES)
    assert all(X_RULES.count(p) <= 280 for p in parts)
    assert len(parts) >= 3


def test_thread_falls_back_to_truncate_where_the_network_has_no_replies() -> None:
    parts = fit(LONG_TEXT * 3, TextRules(limit=50, threads=False), "thread")
    assert len(parts) == 1 and parts[0].endswith(ELLIPSIS)


def test_reject_raises_with_the_count_and_the_limit() -> None:
    with pytest.raises(TextTooLong, match=r"text is 70 for a limit of 40 chars"):
        fit(LONG_TEXT, SHORT, "reject")


def test_url_length_rule_counts_every_url_the_same() -> None:
    rules = TextRules(limit=500, counting="graphemes", url_length=23)
    assert rules.count("go https://example.com/" + "x" * 100) == 3 + 23


def test_graphemes_count_a_family_emoji_once() -> None:
    assert TextRules(limit=10, counting="graphemes").count("👨‍👩‍👧‍👦") == 1
    assert TextRules(limit=10, counting="chars").count("👨‍👩‍👧‍👦") == 7


def test_max_bytes_caps_utf8() -> None:
    rules = TextRules(limit=300, counting="graphemes", max_bytes=10)
    assert not rules.fits("éééééé")  # 6 graphemes, 12 bytes
