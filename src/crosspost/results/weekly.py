"""The weekly results report, sent as an alert: `[alerts] report = "mon 08:00"`.

It covers the seven days before the report's day, in the daemon's time zone. The message
says the totals per network; the HTML report is written under the state dir (`reports/`)
and attached where the alert service takes files (e-mail, Slack, Matrix...). Without
matplotlib the message goes alone, and says how to get the charts.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine

from crosspost.alerts.events import Event
from crosspost.engagement import FIELDS, LABELS
from crosspost.results import data, formats
from crosspost.service.assembly import Setup


def last_week(now: datetime, setup: Setup) -> data.Period:
    zone = setup.config.zone
    today = datetime.combine(now.astimezone(zone).date(), time(), zone)
    return data.Period((today - timedelta(days=7)).astimezone(UTC), today.astimezone(UTC))


def report_key(chosen: data.Period, zone: ZoneInfo) -> str:
    """One report per week: sent once, whoever (or whenever) writes it."""
    return f"report:{chosen.start.astimezone(zone):%Y-%m-%d}"


def weekly(setup: Setup, engine: Engine, now: datetime, due: datetime | None = None) -> Event:
    """The report of the seven days before `due` (its planned time; by default now)."""
    zone, chosen = setup.config.zone, last_week(due or now, setup)
    results = data.load(engine, setup.config, chosen)
    title = f"Results of the week: {chosen.describe(zone)}"
    key = report_key(chosen, zone)
    if not results:
        return Event("report", key, title, "No post went out this week: nothing to report.")
    lines = [f"{len(results)} posts.", ""]
    for g in formats.group(results, "network", zone):
        values = g.engagement.values()
        given = ", ".join(f"{formats.shown(values[f])} {LABELS[f]}" for f in FIELDS
                          if values[f] is not None)  # fmt: skip
        lines.append(f"- **{g.key}**: {g.posts} posts; {given or 'no numbers given yet'}")
    attachment = ""
    try:
        from crosspost.results import html

        before = data.load(engine, setup.config, chosen.previous())
        page = html.render(results, before, chosen, zone, now, title)
        folder = setup.config.state_dir / "reports"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"report-{chosen.start.astimezone(zone):%Y-%m-%d}.html"
        target.write_text(page, encoding="utf-8")
        attachment = str(target)
        lines += ["", f"The full report is attached ({target.name}); it is also in {folder}."]
    except html.ChartsUnavailable as exc:
        lines += ["", str(exc)]
    return Event("report", key, title, "\n".join(lines), attachment)
