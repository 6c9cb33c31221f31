"""The HTML report: one self-contained file (charts embedded as PNG) to mail or open from a
share. Totals with the change against the previous period, interactions per network and per
author week by week, how the numbers grew with each post's age (from the snapshots), the
best and weakest posts with their text and links, and a weekday × hour chart of when posts
did best.

The charts use matplotlib, an optional extra (`pip install 'crosspost[report]'`), so the
daemon's footprint does not grow; it is imported only here, with the Agg backend (no
display). Every text that came from a calendar or a feed is escaped.
"""

from __future__ import annotations

import base64
import io
import math
from collections import defaultdict
from datetime import datetime, timedelta
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from crosspost.engagement import FIELDS, LABELS, total
from crosspost.results.data import Period, PostResult
from crosspost.results.formats import WEEKDAYS, shown

MISSING_MATPLOTLIB = (
    "the HTML report draws its charts with matplotlib, which is not installed: "
    "pip install 'crosspost[report]' (or use --format table, csv or json)"
)
TOP = 5
AGES = tuple((days * 86400.0, label) for days, label in (
    (1 / 24, "1 h"), (1, "1 d"), (7, "7 d"), (14, "14 d"), (21, "21 d"), (28, "28 d")))  # fmt: skip


class ChartsUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise ChartsUnavailable(MISSING_MATPLOTLIB) from exc
    return plt


def render(
    results: list[PostResult],
    before: list[PostResult],
    chosen: Period,
    zone: ZoneInfo,
    now: datetime,
    title: str = "Social media results",
) -> str:
    plt = _pyplot()
    sections = [
        f"<h1>{escape(title)}</h1>",
        f"<p class=muted>{escape(chosen.describe(zone))} · generated "
        f"{now.astimezone(zone):%Y-%m-%d %H:%M}"
        f" · {len(results)} posts</p>",
    ]
    if not results:
        empty = ("<p><strong>No post went out in this period</strong>, so there is nothing to "
                 "report. Choose a longer period with --since or --from.</p>")  # fmt: skip
        sections.append(empty)
        return _page(title, sections)
    sections += [
        _totals(results, before),
        "<h2>Interactions per network, week by week</h2>",
        _img(plt, _weekly(plt, results, lambda r: r.network, zone)),
        "<h2>Interactions per author, week by week</h2>",
        _img(plt, _weekly(plt, results, lambda r: r.author or "(none)", zone)),
        "<h2>How the numbers grew after publishing</h2><p class=muted>Average interactions "
        "per post, by the post's age when its network was asked.</p>",
        _img(plt, _growth_chart(plt, growth(results))),
        "<h2>When posts did best</h2><p class=muted>Average interactions per post, by the "
        "weekday and hour it went out.</p>",
        _img(plt, _heatmap(plt, results, zone)),
        _posts("Best posts", _ranked(results)[:TOP], zone),
        _posts("Weakest posts", _ranked(results)[::-1][:TOP], zone),
        _honesty(results, zone),
    ]
    return _page(title, sections)


def _totals(results: list[PostResult], before: list[PostResult]) -> str:
    now_total, then_total = (
        total(r.engagement for r in results),
        total(r.engagement for r in before),
    )
    cells: list[tuple[str, int | None, int | None]] = [
        ("posts", len(results), len(before) if before else None)
    ]
    cells += [(LABELS[f], now_total.values()[f], then_total.values()[f]) for f in FIELDS]
    cells.append(("interactions", now_total.interactions, then_total.interactions))
    rows = "".join(
        f"<tr><th>{escape(name)}</th><td>{shown(value)}</td>"
        f"<td>{_change(value, previous)}</td></tr>"
        for name, value, previous in cells
    )
    return (f"<h2>Totals</h2><table class=totals><tr><th></th><th>this period</th>"
            f"<th>change on the previous</th></tr>{rows}</table>")  # fmt: skip


def _change(value: int | None, previous: int | None) -> str:
    if value is None or previous is None:
        return "—"
    if previous == 0:
        return "new" if value else "0"
    ratio = (value - previous) / previous * 100
    return f"{ratio:+.0f} %"


def _weekly(plt: Any, results: list[PostResult], key: Any, zone: ZoneInfo) -> Any:
    series: dict[str, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    for r in results:
        day = r.sent_at.astimezone(zone)
        week = (day - timedelta(days=day.weekday())).replace(
            hour=0, minute=0, second=0, microsecond=0
        )
        series[key(r)][week] += r.engagement.interactions or 0
    figure, axes = plt.subplots(figsize=(8, 3.2))
    for name, points in sorted(series.items()):
        weeks = sorted(points)
        axes.plot(weeks, [points[w] for w in weeks], marker="o", label=name)
    axes.set_ylabel("interactions")
    axes.legend(loc="upper left", fontsize=8)
    figure.autofmt_xdate()
    return figure


def growth(results: list[PostResult]) -> dict[str, list[float | None]]:
    """Per network, the average interactions per post at each of AGES: each snapshot is
    filed under the age it is nearest to (on a log scale), a post's latest in each."""
    per_post: dict[tuple[str, int, int], int] = {}
    for r in results:
        for taken_at, numbers in r.history:
            age = (taken_at - r.sent_at).total_seconds()
            if age > 0 and numbers.interactions is not None:
                nearest = min(range(len(AGES)), key=lambda i: abs(math.log(age / AGES[i][0])))
                per_post[(r.network, r.delivery, nearest)] = numbers.interactions
    sums: dict[str, list[list[int]]] = defaultdict(lambda: [[] for _ in AGES])
    for (network, _, age), value in per_post.items():
        sums[network][age].append(value)
    return {network: [sum(v) / len(v) if v else None for v in ages]
            for network, ages in sorted(sums.items())}  # fmt: skip


def _growth_chart(plt: Any, lines: dict[str, list[float | None]]) -> Any:
    figure, axes = plt.subplots(figsize=(8, 3))
    for network, values in lines.items():
        axes.plot([label for _, label in AGES], [math.nan if v is None else v for v in values],
                  marker="o", label=network)  # fmt: skip
    axes.set_xlabel("age of the post")
    axes.set_ylabel("interactions per post")
    if lines:
        axes.legend(loc="upper left", fontsize=8)
    return figure


def _heatmap(plt: Any, results: list[PostResult], zone: ZoneInfo) -> Any:
    sums = [[0.0] * 24 for _ in range(7)]
    counts = [[0] * 24 for _ in range(7)]
    for r in results:
        when = r.sent_at.astimezone(zone)
        sums[when.weekday()][when.hour] += r.engagement.interactions or 0
        counts[when.weekday()][when.hour] += 1
    grid = [[s / c if c else float("nan") for s, c in zip(row, n, strict=True)]
            for row, n in zip(sums, counts, strict=True)]  # fmt: skip
    figure, axes = plt.subplots(figsize=(8, 3))
    image = axes.imshow(grid, aspect="auto", cmap="viridis")
    axes.set_yticks(range(7), [d[:3] for d in WEEKDAYS])
    axes.set_xticks(range(0, 24, 2), [f"{h:02d}h" for h in range(0, 24, 2)])
    figure.colorbar(image, ax=axes, label="interactions per post")
    return figure


def _img(plt: Any, figure: Any) -> str:
    buffer = io.BytesIO()
    figure.tight_layout()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img class=chart alt="chart" src="data:image/png;base64,{data}">'


def _ranked(results: list[PostResult]) -> list[PostResult]:
    measured = [r for r in results if r.engagement.interactions is not None]
    return sorted(measured, key=lambda r: -(r.engagement.interactions or 0))


def _posts(heading: str, chosen: list[PostResult], zone: ZoneInfo) -> str:
    if not chosen:
        return f"<h2>{heading}</h2><p>No post has numbers from its network yet.</p>"
    rows = []
    for r in chosen:
        text = r.text if len(r.text) <= 160 else r.text[:159] + "…"
        link = f'<a href="{escape(r.url)}">{escape(r.post_id)}</a>' if r.url.startswith("http") \
            else escape(r.post_id)  # fmt: skip
        numbers = " · ".join(
            f"<span class=n>{shown(v)} {k}</span>"
            for k, v in r.engagement.values().items()
            if v is not None
        )
        when = f"{r.sent_at.astimezone(zone):%a %d %b %H:%M}"
        who = f"{escape(r.account)} · {escape(r.author)} · {when}"
        rows.append(f"<tr><td>{link}<br><span class=muted>{who}</span></td><td>{escape(text)}</td>"
                    f"<td>{shown(r.engagement.interactions)}</td><td class=muted>{numbers}</td>"
                    "</tr>")  # fmt: skip
    return (f"<h2>{heading}</h2><table><tr><th>post</th><th>text</th><th>interactions</th>"
            f"<th>details</th></tr>{''.join(rows)}</table>")  # fmt: skip


def _honesty(results: list[PostResult], zone: ZoneInfo) -> str:
    waiting = sum(1 for r in results if r.collected_at is None)
    latest = max((r.collected_at for r in results if r.collected_at), default=None)
    when = f"{latest.astimezone(zone):%Y-%m-%d %H:%M}" if latest else "never"
    return (f"<p class=muted>“—” is a number the network did not give (it is not a zero). "
            f"{waiting} of {len(results)} posts have no numbers yet. The latest were collected "
            f"{when}; interactions are likes, reposts, replies, saves and clicks.</p>")  # fmt: skip


def _page(title: str, sections: list[str]) -> str:
    style = ("body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;width:100%;margin:1em 0}td,th{border-bottom:1px solid"
             " #ddd;padding:.4em;text-align:left;vertical-align:top}"
             ".muted{color:#777;font-size:.9em}"
             ".chart{width:100%}.totals td{text-align:right}.n{white-space:nowrap}")  # fmt: skip
    body = "\n".join(sections)
    return (f"<!doctype html><html><head><meta charset=utf-8><title>{escape(title)}</title>"
            f"<style>{style}</style></head><body>\n{body}\n</body></html>\n")  # fmt: skip
