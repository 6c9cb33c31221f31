"""Text reaches each network as previewed: breaks, what survives overflow, link cards, preview.

Each test drives the public surface (`fit`, the composer that `check`, `preview` and the
dispatcher share, or the CLI) with real config and calendar files.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import regex
from crosspost_x.adapter import XAdapter

from crosspost.cli.main import main
from crosspost.render.compose import render_feed_item, render_for
from crosspost.render.fitting import ELLIPSIS, NotPublishable, TextTooLong, fit
from crosspost.render.textrules import TextRules
from crosspost.service.assembly import load_setup

X_RULES = XAdapter.rules  # X's own rules, as its adapter declares them

NBSP = "\u00a0\u202f\u2007\u2060"
FRENCH = (
    "Notre boulangerie a vendu 1\u00a0254 croissants cette semaine\u202f! Merci à tous. "
    "Vous demandez\u202f: «\u00a0quand ouvrez-vous le dimanche\u00a0?\u00a0» Réponse\u202f: "
    "dès 7\u00a0h, et jusqu'à 13\u00a0h, tous les dimanches de décembre (sauf le 25). "
    "Le prix reste de 1\u202f250\u2060€ la douzaine\u202f; à bientôt, l'équipe."
)


def _groups(text: str) -> list[str]:
    """Runs of characters joined by no-break spaces: none may be split."""
    return [g for g in regex.split(r"[ \n]+", text) if any(c in g for c in NBSP)]


@pytest.mark.parametrize("limit", range(24, 200, 7))
def test_a_no_break_space_is_never_a_break_point(limit: int) -> None:
    rules = TextRules(limit=limit, threads=True)
    parts = fit(FRENCH, rules, "thread")
    [cut] = fit(FRENCH, rules, "truncate")
    for part in [*parts, cut]:
        assert rules.fits(part)
        assert not part.startswith(("?", "!", ":", ";", "»", "€")), part
        assert not part.rstrip(ELLIPSIS).rstrip().endswith("«"), part
    bodies = [p.rsplit(" ", 1)[0] if len(parts) > 1 else p for p in parts]
    for group in _groups(FRENCH):
        assert sum(group in body for body in bodies) == 1, group
    for group in _groups(cut.removesuffix(ELLIPSIS).rstrip(" " + ELLIPSIS))[:-1]:
        assert group in _groups(FRENCH)


def test_a_thread_splits_at_a_sentence_end_then_a_clause_then_a_word() -> None:
    rules = TextRules(limit=60, threads=True)
    text = (
        "We bake every morning at dawn. The ovens are lit at four, the dough rests overnight, "
        "and the first loaves come out around six for the early customers downtown"
    )
    parts = fit(text, rules, "thread")
    assert parts[0] == "We bake every morning at dawn. 1/4"  # a sentence end
    assert parts[1].endswith(", 2/4") or parts[1].endswith(": 2/4")  # then clauses
    assert all(rules.fits(part) for part in parts)


def test_truncation_prefers_a_sentence_end_and_marks_the_cut() -> None:
    rules = TextRules(limit=70)
    text = "Fresh bread every day, from six in the morning. Pastries on Sundays, and more"
    assert fit(text, rules, "truncate") == [
        "Fresh bread every day, from six in the morning. " + ELLIPSIS
    ]
    [clause] = fit(
        "Fresh bread every day, from six, with pastries on Sundays and more",
        TextRules(limit=40),
        "truncate",
    )
    assert clause == "Fresh bread every day, from six" + ELLIPSIS


SIGNED = """
[voices.signed]
template = \"\"\"{{ title }}

{{ text }}

{{ link }} {{ hashtags }}
— Camille, gérante\"\"\"
hashtags = ["Boulangerie"]
utm = { utm_source = "social", utm_medium = "crosspost" }
overflow = "{overflow}"

[accounts.shop]
network = "outbox"
voice = "signed"
limit = {limit}
"""


def _post(text: str, link: str = "https://bakery.example/news") -> str:
    return (
        f'[[post]]\nid = "p1"\nat = 2030-01-07T09:00:00\naccounts = ["shop"]\n'
        f'title = "News"\ntext = "{text}"\nlink = "{link}"\n'
    )


@pytest.mark.parametrize("overflow", ["truncate", "thread"])
def test_signature_hashtags_and_link_survive_overflow(make_site, overflow: str) -> None:
    text = " ".join(f"Sentence number {n} about bread." for n in range(40))
    path = make_site(
        _post(text), extra=SIGNED.replace("{overflow}", overflow).replace("{limit}", "200")
    )
    setup = load_setup(path)
    _, outgoing = render_for(setup, setup.calendar.posts["p1"], "shop")
    first, last = outgoing.parts[0], outgoing.parts[-1]
    assert first.startswith("News\n\nSentence number 0")
    link = "https://bakery.example/news?utm_source=social&utm_medium=crosspost"
    assert f"{link} #Boulangerie\n— Camille, gérante" in last
    assert all(len(part) <= 200 for part in outgoing.parts)
    if overflow == "truncate":
        [only] = outgoing.parts
        assert ELLIPSIS in only and only.endswith("— Camille, gérante")
    else:
        assert len(outgoing.parts) > 3 and last.endswith(
            f" {len(outgoing.parts)}/{len(outgoing.parts)}"
        )
    assert outgoing.link == link  # the link card carries the voice's UTM too


def test_a_voice_that_leaves_no_room_for_the_text_is_an_error_at_check(make_site, capsys) -> None:
    path = make_site(
        _post("Some text here"),
        extra=SIGNED.replace("{overflow}", "truncate").replace("{limit}", "60"),
    )
    assert main(["-c", str(path), "check"]) == 1
    out = capsys.readouterr().out
    assert f"{path.parent / 'calendar.toml'}:2: [post.text]" in out
    assert "leaves no room for the text" in out


def test_characters_x_refuses_are_reported_before_sending() -> None:
    for char in ("\ufeff", "\ufffe", "\uffff"):
        with pytest.raises(NotPublishable, match=f"U\\+{ord(char):04X}"):
            fit(f"Hello{char} world", X_RULES, "truncate")
    assert fit("Hello world", X_RULES, "truncate") == ["Hello world"]


def test_the_example_voices_render_cleanly_with_and_without_a_link(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parents[2]
    (tmp_path / "crosspost.toml").write_text((root / "config.example.toml").read_text())
    for link in ("", 'link = "https://example.com/a"\n'):
        (tmp_path / "calendar.toml").write_text(
            '[[post]]\nid = "p"\nat = 2030-01-07T09:00:00\ntitle = "Title"\ntext = "Text."\n'
            'accounts = ["company_linkedin", "company_facebook", "company_x", "archive"]\n' + link
        )
        setup = load_setup(tmp_path / "crosspost.toml")
        for account in setup.calendar.posts["p"].accounts:
            _, outgoing = render_for(setup, setup.calendar.posts["p"], account)
            for part in outgoing.parts:
                assert "\n\n\n" not in part and "  " not in part, (account, part)
                assert not regex.search(r"[ \t]\n", part), (account, part)


def test_a_feed_voice_with_title_and_text_does_not_print_the_title_twice(make_site) -> None:
    extra = (
        '\n[voices.titled]\ntemplate = "{{ title }}\\n\\n{{ text }}\\n\\n{{ link }}"\n'
        '\n[feeds.blog]\nurl = "blog.xml"\naccounts = ["box"]\nvoice = "titled"\n'
    )
    setup = load_setup(make_site("", extra=extra))
    item = {"title": "Winter hours", "link": "https://b.example/1", "summary": "We open at 8."}
    _, outgoing = render_feed_item(setup, "blog", item, "box")
    assert outgoing.parts == ("Winter hours\n\nWe open at 8.\n\nhttps://b.example/1",)
    _, without = render_feed_item(setup, "blog", {**item, "summary": ""}, "box")
    assert without.parts == ("Winter hours\n\nhttps://b.example/1",)


def test_preview_counts_against_the_limit_numbers_parts_once_and_shows_images(
    make_site, tmp_path: Path, capsys
) -> None:
    (tmp_path / "shop.jpg").write_bytes(b"\xff\xd8\xff" + b"\0" * 1000)
    calendar = (
        '[[post]]\nid = "p1"\nat = 2030-01-07T09:00:00\naccounts = ["box"]\n'
        f'text = "{"word " * 30}"\n'
        'images = [{ path = "shop.jpg", alt = "Our shop front" }]\n'
    )
    path = make_site(calendar, limit=60, overflow="thread")
    assert main(["-c", str(path), "preview", "p1"]) == 0
    out = capsys.readouterr().out
    assert "(58 / 60)" in out and " 1/3\n" in out
    assert "[1/3]" not in out and "counted" not in out
    assert "image: shop.jpg (JPEG, 0.0 MB); alt: Our shop front" in out


def test_a_text_that_cannot_fit_even_truncated_is_rejected() -> None:
    with pytest.raises(TextTooLong, match="not even the first word fits"):
        fit("x" * 50, TextRules(limit=10), "truncate")


BOUNDED = """
[voices.risky]
template = "{{ text }} {{ 100 // (text|length - 5) }}"

[accounts.risky]
network = "outbox"
voice = "risky"
"""


def test_a_template_failing_on_one_post_fails_that_delivery_only(make_site, clock) -> None:
    import threading

    from crosspost import store
    from crosspost.service.runtime import Runtime

    calendar = "".join(
        f'[[post]]\nid = "{name}"\nat = 2026-03-02T09:00:00Z\naccounts = ["risky"]\n'
        f'text = "{text}"\n'
        for name, text in (("boom", "Hello"), ("fine", "Hello world"))
    )
    runtime = Runtime(make_site(calendar, extra=BOUNDED), clock)
    clock.set(clock().replace(hour=9))
    runtime.tick(threading.Event())
    rows = {r.post_id: r for r in store.deliveries(runtime.engine)}
    assert rows["fine"].status == "sent"
    assert rows["boom"].status == "failed"
    assert "ZeroDivisionError" in (rows["boom"].reason or "")
    assert not store.deliveries(runtime.engine, store.columns.status == "sending")


@pytest.mark.parametrize(
    "template",
    [
        "{{ 'x' * 10**9 }}",
        "{% for i in range(10**9) %}x{% endfor %}",
        "{% for i in range(9999) %}{% for j in range(9999) %}{% endfor %}{% endfor %}",
        "{{ 'x'|center(1000000000) }}",
        "{{ '{:>999999999}'.format(1) }}",
        "{% set a = 'x' * 9000 %}{% set b = a|replace('x', a) %}{{ b }}",
    ],
)
def test_a_hostile_template_is_an_error_at_check_within_seconds(
    make_site, capsys, template
) -> None:
    import resource
    import time

    extra = (
        f'\n[voices.hostile]\ntemplate = "{template}"\n'
        '[accounts.h]\nnetwork = "outbox"\nvoice = "hostile"\n'
    )
    started = time.monotonic()
    assert main(["-c", str(make_site("", extra=extra)), "check"]) == 78
    assert time.monotonic() - started < 5
    assert "[voices.hostile.template]" in capsys.readouterr().err
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss < 1024 * 1024  # KiB: < 1 GB
