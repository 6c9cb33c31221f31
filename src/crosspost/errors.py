"""Every error crosspost raises on purpose descends from `CrosspostError`, in four branches
(the classes outside this module are listed where they live)::

    CrosspostError
    ├── ConfigurationError   the config, a calendar, the secrets or an adapter's table is
    │   │                    wrong: `ConfigError` (problems, with file:line), `AdapterNotInstalled`
    │   │                    (registry), `MediaError` (media), `AdapterConfigError` below
    ├── RenderError          a post cannot be rendered or fitted: `VoiceError` (voice),
    │                        `DoesNotFit` (fitting)
    ├── PublishError         what an adapter raises (below)
    ├── FeedFailure          a feed cannot be fetched or read: `FeedError` (feeds.fetch),
    │                        `MalformedFeed` (feeds.parse)
    ├── StoreUnavailable     the database cannot be used
    └── Pending              not a failure: a step of a publish is done, come back later

What an adapter raises, and the core acts on::

    PublishError
    ├── TransientError       network error, timeout before sending, 5xx: retry with backoff
    │   └── RateLimited      retry not before `reset_at`
    ├── PermanentError       validation, duplicate, missing permission: fail with the reason
    ├── AuthError            expired or revoked credentials: fail, pause the account
    └── OutcomeUnknown       the request left and no answer came: reconcile, else `in_doubt`

    AdapterConfigError       a key of the account's table is wrong (named for file:line)
    └── MissingSecret        a secret the account needs is not in the secrets file

Messages must never contain a secret: the dispatcher scrubs them anyway before storing them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta


class CrosspostError(Exception):
    """The root: `except CrosspostError` catches everything crosspost raises on purpose."""


class ConfigurationError(CrosspostError):
    """Something a person wrote is wrong; the message says where and what to do."""


class RenderError(CrosspostError):
    """A post cannot become text for a network (its template, or its length)."""


class FeedFailure(CrosspostError):
    """A feed cannot be fetched or read; the feed is retried, nothing else stops."""


class PublishError(CrosspostError):
    """Base of every classified failure; the message must never contain a secret."""


class TransientError(PublishError):
    pass


class RateLimited(TransientError):
    """Retry not before the reset: `reset_at` when the network gives a time (X's epoch
    header), `retry_after` when it gives a wait (Retry-After, Meta's minutes). A wait is
    turned into a time by the core's clock, not the adapter's: adapters have no clock."""

    def __init__(
        self,
        message: str,
        reset_at: datetime | None = None,
        *,
        retry_after: timedelta | None = None,
    ) -> None:
        super().__init__(message)
        self.reset_at = reset_at
        self.retry_after = retry_after

    def until(self, now: datetime) -> datetime | None:
        """When the limit lifts, on the core's clock (None: the network did not say)."""
        if self.reset_at is not None:
            return self.reset_at
        return now + self.retry_after if self.retry_after is not None else None


class PermanentError(PublishError):
    pass


class AuthError(PublishError):
    pass


class OutcomeUnknown(PublishError):
    pass


class Pending(CrosspostError):
    """Not an error: the network is still working on a step of a publish (Instagram
    fetching the image into a container). The core records `progress`, frees the account's
    lane, and calls `publish` again after `after`, with `post.progress` set to it; a wait
    costs no attempt. After a crash, `reconcile` gets the recorded progress too, so the
    delivery resumes where it was instead of starting again."""

    def __init__(self, message: str, after: timedelta, progress: Mapping[str, str]) -> None:
        super().__init__(message)
        self.after, self.progress = after, dict(progress)


class AdapterConfigError(ConfigurationError, ValueError):
    """A key of the account's table is wrong; `key` names it for the file:line report."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


class MissingSecret(AdapterConfigError):
    """A secret the account needs is not in the secrets file: that account cannot publish,
    the others can (and `check` without `--online` needs no secrets at all)."""


class StoreUnavailable(CrosspostError):
    """The database cannot be used; `temporary` says whether trying again may help (exit 75)
    or the config must change (exit 78)."""

    def __init__(self, message: str, temporary: bool) -> None:
        super().__init__(message)
        self.temporary = temporary
