"""What the core hands an adapter to publish, and what the adapter hands back: the data half
of the adapter API (`crosspost.adapter` re-exports every name here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from crosspost.render.textrules import TextRules
from crosspost.sources.media import Image


@dataclass(frozen=True)
class OutgoingPost:
    """What an adapter publishes: the fitted text (several parts for a thread) and media."""

    parts: tuple[str, ...]
    link: str = ""
    title: str = ""
    images: tuple[Image, ...] = ()
    # The voice's `options` (Mastodon's visibility...), `image_url` for a feed's image, and
    # `author`: who wrote it (the outbox shows it; a network adapter may ignore it).
    meta: dict[str, str] = field(default_factory=dict)
    progress: Mapping[str, str] = field(default_factory=dict)  # what `Pending` recorded
    first_comment: str = ""  # added by the core through `Comments`, after publishing


@dataclass(frozen=True)
class Receipt:
    """What the network says it published. `warning` is set when the network stored
    something other than what was sent (read back after publishing): the delivery is sent,
    and the difference is reported as an error a person must look at. `parts` lets a
    thread's numbers be collected from each of its posts (see `Measures`)."""

    remote_id: str
    url: str
    warning: str = ""
    parts: tuple[str, ...] = ()  # every part's id, first included, when it is a thread


@dataclass(frozen=True)
class Profile:
    """Who the account is, as `verify()` found it; `rules` when the network reports the
    account's own limits (`check --online` shows them; an adapter that learns them also sets
    its own `rules`, which the core reads at every check and send)."""

    handle: str
    rules: TextRules | None = None
