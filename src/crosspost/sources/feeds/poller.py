"""Polling feeds: new items become deliveries, each feed on its own schedule.

First sight of a feed records every current item as seen and posts nothing (or the newest
`backfill` ones), so followers are never flooded with the blog's back catalogue. An item is
new when neither its identity nor its canonical link was seen before: a guid that changes on
an old article, or an article that is updated, is not posted again. Items seen and the
deliveries they cause are written in one transaction, so a crash never loses one or doubles
it.

Failures are logged once per change of state (failing, then recovered), polled again with
backoff, and shown by `crosspost feeds`. Each poll runs in a worker thread with its own
timeouts, so one broken feed never delays the others or the calendar.
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Engine

from crosspost import logs, store, telemetry
from crosspost.config.feeds import FeedSettings, compile_filter
from crosspost.config.settings import Config
from crosspost.config.slots import next_free_slot
from crosspost.model import Occurrence, Source, feed_post_id
from crosspost.sources.feeds.fetch import FeedError, fetch
from crosspost.sources.feeds.parse import Item, MalformedFeed, ParsedFeed, parse_feed
from crosspost.sources.feeds.state import FeedState, load_state, mark_seen, save_state, seen_among

log = logs.get("crosspost.feeds")
MAX_BACKOFF = timedelta(hours=6)


def poll(
    engine: Engine, client: httpx.Client, config: Config, name: str, now: datetime
) -> tuple[int, datetime]:
    """Poll one feed: (deliveries queued, when to poll next). Never raises for feed trouble."""
    feed = config.feeds[name]
    url = feed_location(config, name)
    state = load_state(engine, name) or FeedState(name=name, url=url)
    first_sight = state.last_success is None or state.url != url
    state.url, state.last_fetch = url, now
    try:
        fetched = fetch(
            client,
            url,
            None if first_sight else state.etag,
            None if first_sight else state.last_modified,
            feed.max_bytes,
        )
        parsed = parse_feed(fetched.body) if fetched.body is not None else None
    except (FeedError, MalformedFeed) as exc:
        telemetry.meter.feed_polled(name, ok=False)
        return 0, _failed(engine, state, feed, str(exc), now)
    telemetry.meter.feed_polled(name, ok=True)
    if state.last_error:
        log.info("feed recovered", feed=name, after=state.failures)
    state.etag, state.last_modified = fetched.etag, fetched.last_modified
    state.last_success, state.last_error, state.failures = now, None, 0
    state.next_poll = now + _every(feed)
    queued = 0
    if parsed is not None:
        state.title = parsed.title
        queued, seen = _record(engine, config, name, parsed, first_sight, now)
        state.items_seen += seen
    save_state(engine, state)
    return queued, state.next_poll


def _record(
    engine: Engine, config: Config, name: str, parsed: ParsedFeed, first_sight: bool, now: datetime
) -> tuple[int, int]:
    feed = config.feeds[name]
    items = _unique(parsed.items)
    keys, links = seen_among(engine, name, [i.key for i in items], [i.canonical for i in items])
    new = [i for i in items if i.key not in keys and (not i.canonical or i.canonical not in links)]
    for item in new:
        if item.problem:  # seen (so said once), never posted
            log.warning("feed item skipped", feed=name, title=item.title, reason=item.problem)
    if first_sight:
        wanted = [i for i in new if wanted_item(feed, i)][: feed.backfill]
        log.info("feed first seen", feed=name, items=len(new), backfill=len(wanted))
    else:
        wanted = [i for i in new if wanted_item(feed, i)]
    due: list[Occurrence] = []
    for item in reversed(wanted):  # oldest first
        due += _occurrences(engine, config, name, parsed.title, item, now, due)
    with engine.begin() as conn:  # seen and queued together, or neither
        mark_seen(conn, name, [(i.key, i.canonical) for i in new], now)
        store.add_occurrences(conn, due, now)
    for item in reversed(wanted):
        log.info("feed item queued", feed=name, title=item.title, link=item.link)
    return len(due), len(new)


def feed_location(config: Config, name: str) -> str:
    """The feed's URL, or its file path resolved against the config file's folder."""
    url = config.feeds[name].url
    return url if url.startswith(("http://", "https://")) else str(config.resolve(url))


def wanted_item(feed: FeedSettings, item: Item) -> bool:
    """`include` (one must match, when given) and `exclude` (none may match), each pattern
    tried on the title, the summary and every category."""
    if item.problem:
        return False
    fields = [item.title, item.summary, *item.categories]

    def matches(pattern: str) -> bool:
        return any(compile_filter(pattern).search(field) for field in fields)

    if feed.include and not any(matches(p) for p in feed.include):
        return False
    return not any(matches(p) for p in feed.exclude)


def payload(feed_title: str, item: Item) -> dict[str, Any]:
    return {
        "title": item.title,
        "link": item.link,
        "summary": item.summary,
        "categories": list(item.categories),
        "author": item.author,
        "published": item.published.isoformat() if item.published else "",
        "image": item.image,
        "feed": feed_title,
    }


def _occurrences(
    engine: Engine,
    config: Config,
    name: str,
    feed_title: str,
    item: Item,
    now: datetime,
    pending: list[Occurrence],
) -> list[Occurrence]:
    feed = config.feeds[name]
    ident = hashlib.sha256(item.key.encode()).hexdigest()[:16]
    made: list[Occurrence] = []
    for account in feed.accounts:
        due = now if feed.mode == "now" else _slot(engine, config, account, now, pending + made)
        content = payload(feed_title, item)
        made.append(Occurrence(Source.FEED, feed_post_id(name), ident, account, due, content))
    return made


def _slot(
    engine: Engine, config: Config, account: str, now: datetime, pending: list[Occurrence]
) -> datetime:
    settings = config.accounts[account]
    zone = config.zone
    taken = store.due_times(engine, account, now - timedelta(days=1))
    taken |= {occurrence.due for occurrence in pending if occurrence.account == account}
    per_day: dict[str, int] = {}
    for instant in taken:
        day = instant.astimezone(zone).date().isoformat()
        per_day[day] = per_day.get(day, 0) + 1
    found = next_free_slot(settings.slots, now, zone, taken, per_day, settings.max_per_day)
    return found or now + timedelta(days=14)  # every slot of two weeks taken: wait


def _unique(items: list[Item]) -> list[Item]:
    seen: set[str] = set()
    result = []
    for item in items:
        if item.key not in seen:
            seen.add(item.key)
            result.append(item)
    return result


def _failed(
    engine: Engine, state: FeedState, feed: FeedSettings, reason: str, now: datetime
) -> datetime:
    if reason != state.last_error:
        log.error(
            "feed failing", feed=state.name, reason=reason, url=state.url, fix="crosspost feeds"
        )
    state.failures += 1
    state.last_error = reason
    wait = min(MAX_BACKOFF, feed.every * (2 ** min(state.failures - 1, 10)))
    state.next_poll = now + wait * random.uniform(0.9, 1.1)  # jittered once, like `_every`
    save_state(engine, state)
    return state.next_poll


def _every(feed: FeedSettings) -> timedelta:
    """The poll interval with ±10% jitter, so feeds don't poll in lockstep."""
    return feed.every * random.uniform(0.9, 1.1)
