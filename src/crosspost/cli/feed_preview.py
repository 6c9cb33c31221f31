"""`crosspost feeds preview NAME`: a feed's newest items as each account would get them.

It fetches without conditional headers and writes nothing: items are not marked seen.
"""

from __future__ import annotations

import sys

from crosspost.cli.reports import describe
from crosspost.render.compose import render_feed_item
from crosspost.render.fitting import DoesNotFit
from crosspost.render.voice import VoiceError
from crosspost.service.assembly import Setup
from crosspost.sources.feeds.fetch import FeedError, fetch, new_client
from crosspost.sources.feeds.parse import MalformedFeed, parse_feed
from crosspost.sources.feeds.poller import feed_location, payload, wanted_item


def preview_feed(setup: Setup, name: str | None, count: int) -> int:
    config = setup.config
    if not name or name not in config.feeds:
        print(
            f"no feed {name!r}; feeds: {', '.join(sorted(config.feeds)) or 'none'}", file=sys.stderr
        )
        return 1
    feed = config.feeds[name]
    url = feed_location(config, name)
    try:
        with new_client() as client:
            fetched = fetch(client, url, None, None, feed.max_bytes)
        parsed = parse_feed(fetched.body or b"")
    except (FeedError, MalformedFeed) as exc:
        print(f"feed {name}: {exc}", file=sys.stderr)
        return 1
    failed = False
    for item in parsed.items[:count]:
        skipped = "" if wanted_item(feed, item) else "  (filtered out by include/exclude)"
        print(f"══ {item.title} <{item.link}>{skipped}")
        for account in feed.accounts:
            rules = setup.adapters[account].rules
            try:
                _, outgoing = render_feed_item(setup, name, payload(parsed.title, item), account)
            except (VoiceError, DoesNotFit) as exc:
                failed = True
                print(f"── {account}: ERROR: {exc}\n")
                continue
            print(f"── {account} ({rules.describe()})")
            print(describe(outgoing, rules))
            network = config.accounts[account].network
            text = "\n\n".join(outgoing.parts)
            for hit in setup.charter.hits(text, account, network, "feed"):
                holds = " (the daemon holds it)" if hit.rule.severity == "error" else ""
                print(f"   CHARTER {hit.rule.severity.upper()}: {hit.describe()}{holds}\n")
    return 1 if failed else 0
