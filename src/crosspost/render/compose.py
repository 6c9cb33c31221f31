"""Compose what one account publishes for one post: its override or its voice, then fitted.

Shared by the dispatcher, `check` and `preview`, so what they show is what is sent. It needs
no database, which keeps `check` quick to start.
"""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from crosspost import store
from crosspost.adapter import Adapter, Image, OutgoingPost, Preflight
from crosspost.config.settings import VoiceSettings
from crosspost.model import Source, feed_name, feed_post_id
from crosspost.render.first_comment import checked_comment
from crosspost.render.fitting import NotPublishable, fit
from crosspost.render.voice import (
    Author,
    Content,
    author_named,
    depends_on_account,
    names_used,
    render,
    render_parts,
    tag_link,
)
from crosspost.service.assembly import Setup
from crosspost.sources.calendar import Post


class Cancelled(Exception):
    """The delivery no longer matches the calendar (post removed, draft, account dropped)."""


def prepare(setup: Setup, delivery: store.Delivery) -> tuple[Adapter, OutgoingPost]:
    """Render and fit the post for the delivery's account; raise Cancelled or a text error."""
    if delivery.source == Source.FEED:
        feed = feed_name(delivery.post_id)
        if feed not in setup.config.feeds:
            raise Cancelled("feed removed from the config")
        if delivery.account not in setup.config.feeds[feed].accounts:
            raise Cancelled("account removed from the feed's accounts")
        if delivery.account not in setup.adapters:
            raise Cancelled("account removed from the config")
        return render_feed_item(setup, feed, json.loads(delivery.payload or "{}"), delivery.account)
    post = setup.calendar.posts.get(delivery.post_id)
    if post is None:
        raise Cancelled("post removed from the calendar")
    if post.draft:
        raise Cancelled("post is now a draft")
    if delivery.account not in post.accounts:
        raise Cancelled("account removed from the post's accounts")
    if delivery.account not in setup.adapters:
        raise Cancelled("account removed from the config")
    return render_for(setup, post, delivery.account)


def render_for(
    setup: Setup, post: Post, account_name: str, memo: dict[tuple[str, str], str] | None = None
) -> tuple[Adapter, OutgoingPost]:
    """The exact text `account_name` gets for `post`: its override, or its voice; then fitted.

    Raises VoiceError or DoesNotFit; `check` and `preview` call this too, so what they show
    is what is sent. `memo` (one per post) lets accounts that share a voice share its render.
    """
    account = setup.config.accounts[account_name]
    voice = setup.config.voices[account.voice]
    content = Content(post.text, post.title, post.link, author_of(setup, post.by), post.id)
    override = post.overrides.get(account_name)
    key = (account.voice, account_name if depends_on_account(voice) else "")
    text = override if override is not None else (memo or {}).get(key)
    if text is None:
        text = render(voice, content, account_name, account.network)
        if memo is not None:
            memo[key] = text
    adapter = setup.adapters[account_name]
    outgoing = _compose(
        adapter,
        voice,
        content,
        account_name,
        account.network,
        text,
        overridden=override is not None,
        images=post.images,
        first_comment=post.comment_for(account_name),
    )
    return adapter, outgoing


def render_feed_item(
    setup: Setup, feed: str, item: dict[str, Any], account_name: str
) -> tuple[Adapter, OutgoingPost]:
    """The text `account_name` gets for a feed item: the feed's voice, else the account's."""
    account = setup.config.accounts[account_name]
    voice = setup.config.voices[setup.config.feeds[feed].voice or account.voice]
    categories = tuple(item.get("categories", ()))
    # `text` is the title, so the default voice works; a voice that shows the title itself
    # gets the summary as its text instead of the title twice.
    both = {"title", "text"} <= names_used(voice.template)
    content = Content(
        text=item.get("summary", "") if both else item["title"],
        title=item["title"],
        link=item["link"],
        author=author_named(str(item.get("author", ""))),
        post_id=feed_post_id(feed),
        extra=(
            ("summary", item.get("summary", "")),
            ("categories", categories),
            ("category_hashtags", " ".join(hashtag(c) for c in categories if hashtag(c))),
            ("published", item.get("published", "")),
            ("image", item.get("image", "")),
            ("feed", item.get("feed", "")),
        ),
    )
    adapter = setup.adapters[account_name]
    text = render(voice, content, account_name, account.network)
    image = {"image_url": item["image"]} if item.get("image") else {}
    outgoing = _compose(adapter, voice, content, account_name, account.network, text, meta=image)
    return adapter, outgoing


def author_of(setup: Setup, name: str) -> Author:
    """The author a calendar post names: the config's [authors.NAME] when it has one, else
    the name as written (a config without authors takes free text)."""
    known = setup.config.authors.get(name)
    if known is None:
        return author_named(name)
    return author_named(known.name, known.role, known.signature)


def _compose(
    adapter: Adapter,
    voice: VoiceSettings,
    content: Content,
    account_name: str,
    network: str,
    text: str,
    overridden: bool = False,
    images: tuple[Image, ...] = (),
    meta: dict[str, str] | None = None,
    first_comment: str = "",
) -> OutgoingPost:
    """The one path from a rendered text to what is sent, for every source: fitted to the
    network's rules (a voice's own text may be re-rendered in pieces to shorten only the
    post's text; an override is the person's own words, fitted as they are), the link tagged
    with the voice's UTM, then the adapter's own checks; a first comment is checked against
    the network's comment rules, as written."""

    def pieces() -> tuple[str, str, str] | None:  # only asked when the text is too long
        return render_parts(voice, content, account_name, network)

    counted = images or (1 if (meta or {}).get("image_url") else 0)  # a feed's image is a URL
    parts = fit(text, adapter.rules, voice.overflow, counted, None if overridden else pieces)
    signed = {"author": content.author.name} if content.author else {}
    outgoing = OutgoingPost(
        parts=tuple(parts),
        link=tag_link(content.link, voice.utm) if content.link else "",
        title=content.title,
        images=images,
        meta={**voice.options, **signed, **(meta or {})},
        first_comment=checked_comment(adapter, first_comment),
    )
    return _preflight(adapter, outgoing)


def _preflight(adapter: Adapter, outgoing: OutgoingPost) -> OutgoingPost:
    """The adapter's own checks of a post (Instagram: every image has a public URL)."""
    if _has_preflight(type(adapter)) and isinstance(adapter, Preflight):
        problem = adapter.preflight(outgoing)
        if problem:
            raise NotPublishable(problem)
    return outgoing


@lru_cache(maxsize=64)
def _has_preflight(kind: type) -> bool:
    """Cached per class: a protocol isinstance check costs more than rendering (Python 3.11),
    and `check` makes 50,000 of them."""
    return issubclass(kind, Preflight)


def hashtag(label: str) -> str:
    """ "Small business" -> "#SmallBusiness"; letters and digits only."""
    words = "".join(ch if ch.isalnum() else " " for ch in label).split()
    return "#" + "".join(w[:1].upper() + w[1:] for w in words) if words else ""
