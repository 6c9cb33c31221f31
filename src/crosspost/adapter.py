"""The adapter API: everything a network adapter needs from crosspost, and nothing else.

An adapter imports only this module (a test pins its names, so a change here is a
decision). It is a class, built from its account's config table and secrets with no I/O:

* ``network``: the name the config uses (``network = "x"``);
* ``rules``: its `TextRules`, so `check` and `preview` know before sending whether a post fits;
* ``verify() -> Profile``: one cheap authenticated call: who am I (and the account's own text
  rules when the network reports them, such as a Mastodon instance's limit);
* ``publish(post, key) -> Receipt``: publish once; ``key`` is the delivery's stable identity,
  for networks that take an idempotency key.

Optional capabilities are protocols, checked with ``isinstance``: `Reconciles` (find a post
after an unknown outcome), `Idempotent` (publishing twice with one key makes one post),
`Preflight` (the network's own checks before sending), `Authorizes` (a guided OAuth flow for
``crosspost auth``), `Comments` (the post's first comment, or a reply, added after it),
`Measures` (what the network says about published posts: likes, reposts, views...).

Adapters never sleep and never retry; they raise one of these and the core decides::

    PublishError
    ├── TransientError       network error, timeout before sending, 5xx: retry with backoff
    │   └── RateLimited      retry not before `reset_at` (or `retry_after`)
    ├── PermanentError       validation, duplicate, missing permission: fail with the reason
    ├── AuthError            expired or revoked credentials: fail, pause the account
    └── OutcomeUnknown       the request left and no answer came: reconcile, never blindly
    Pending                  not an error: a step is done, come back after `after` (the
                             core records `progress` and hands it back in `post.progress`)
    AdapterConfigError       a key of the account's table is wrong (named for file:line)
    └── MissingSecret        a secret the account needs is not in the secrets file

`transport_error` turns an HTTP library's exception into the right one of these, once for
every adapter. An adapter is registered under the ``crosspost.adapters`` entry-point group
(see `crosspost.registry`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

from crosspost.adapter_state import ThreadProgress
from crosspost.config.problems import explain
from crosspost.delivery.transport import transport_error
from crosspost.engagement import Engagement, number
from crosspost.errors import (
    AdapterConfigError,
    AuthError,
    MissingSecret,
    OutcomeUnknown,
    Pending,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from crosspost.logs import REDACTOR
from crosspost.oauth import OAuthFlow, Tokens, pkce_pair, write_private
from crosspost.outgoing import OutgoingPost, Profile, Receipt
from crosspost.render.textrules import HASHTAG, MENTION, URL, TextRules
from crosspost.sources.media import Image, MediaError

__all__ = [
    "HASHTAG",
    "MENTION",
    "URL",
    "Account",
    "Adapter",
    "AdapterClass",
    "AdapterConfigError",
    "AuthError",
    "Authorizes",
    "Comments",
    "Engagement",
    "Idempotent",
    "Image",
    "KeepsCredentials",
    "Measures",
    "MediaError",
    "MissingSecret",
    "Needs",
    "NeedsSecrets",
    "OAuthFlow",
    "OutcomeUnknown",
    "OutgoingPost",
    "Pending",
    "PermanentError",
    "Preflight",
    "Profile",
    "PublishError",
    "RateLimited",
    "Receipt",
    "Reconciles",
    "TextRules",
    "ThreadProgress",
    "Tokens",
    "TransientError",
    "account_for",
    "construct",
    "keep_secret",
    "number",
    "pkce_pair",
    "profile_of",
    "require_secrets",
    "transport_error",
    "write_private",
]


@runtime_checkable
class Adapter(Protocol):
    network: ClassVar[str]
    rules: TextRules

    def verify(self) -> Profile | str: ...  # a bare handle is accepted, for older adapters

    def publish(self, post: OutgoingPost, key: str) -> Receipt: ...


@runtime_checkable
class KeepsCredentials(Protocol):
    """Optional: an adapter that renews its own credentials (Threads' 60-day token is
    refreshed before it runs out). The daemon calls `keep_credentials(now)` once a day; it
    renews what is due and returns when the credentials in use stop working (None: not
    known, the secrets file's `<key>_expires_at` is used). The core warns 7 days before."""

    def keep_credentials(self, now: datetime) -> datetime | None: ...


@runtime_checkable
class Reconciles(Protocol):
    """Optional: after an unknown outcome (a lost answer, a crash), look for the post on the
    network: a Receipt if it is there, None only if it is certainly not there (the delivery
    is then sent again, the network asked once more just before); raise a PublishError when
    the network cannot tell (the delivery is then left to a person, in_doubt)."""

    def reconcile(self, post: OutgoingPost, key: str) -> Receipt | None: ...


@runtime_checkable
class Comments(Protocol):
    """Optional: add the post's first comment under a post just published (a reply on the
    networks that chain them). `comment_rules` are the comment's own limits, which `check`
    applies (LinkedIn takes 1,250 characters in a comment, 3,000 in a post).

    The core calls it at most once per delivery whose outcome is known: it records that the
    comment is being sent first, so a retry or a restart never adds a second one (an answer
    that never came leaves the delivery sent, with a warning to look). A TransientError
    means the comment is certainly not there: it is tried again later, without the post.
    `key` is the delivery's key plus "#comment": an `Idempotent` adapter's comment must be
    idempotent under it too, and is then sent again after an unknown outcome."""

    @property
    def comment_rules(self) -> TextRules: ...

    def comment(self, on: Receipt, text: str, key: str) -> Receipt: ...


@runtime_checkable
class Measures(Protocol):
    """Optional: what the network reports about published posts, by their remote ids (a
    Receipt's `remote_id`, and each of its `parts` for a thread), at most `measure_batch`
    ids a call. Each id the network knows maps to an `Engagement` whose missing numbers are
    None, never 0; an id it no longer knows (the post deleted) is left out. A refusal of the
    whole call (a permission not granted, a quota) is a PermanentError or AuthError, which the
    core records and reports once; a RateLimited waits for its reset. Called from the
    collector's own thread, never during a publish."""

    @property
    def measure_batch(self) -> int: ...

    def measure(self, remote_ids: Sequence[str]) -> Mapping[str, Engagement]: ...


@runtime_checkable
class Idempotent(Protocol):
    """Optional: `idempotent = True` says publishing twice with one key makes one post (the
    outbox names its file after the key; Mastodon takes an Idempotency-Key), so a delivery
    interrupted by a crash is simply sent again when reconcile cannot find it. A network
    that forgets its keys says so with an `idempotent_for` attribute (seconds; Mastodon: an
    hour): a first comment whose outcome is unknown since longer is not sent again."""

    idempotent: bool


@runtime_checkable
class Preflight(Protocol):
    """Optional: the adapter's own checks of a post, run by `check`, `preview` and before
    sending; returns what keeps the post off the network, or None."""

    def preflight(self, post: OutgoingPost) -> str | None: ...


@runtime_checkable
class Authorizes(Protocol):
    """Optional, on the adapter class: ``oauth_flow(account)`` returns the flow `crosspost
    auth` walks a person through (see `crosspost.oauth`). The account's secrets are what
    the secrets file holds so far, perhaps nothing."""

    def oauth_flow(self, account: Account[Any]) -> OAuthFlow: ...


SettingsModel = TypeVar("SettingsModel", bound=BaseModel)
SettingsOf = TypeVar("SettingsOf", bound=BaseModel, covariant=True)


@dataclass(frozen=True)
class Account(Generic[SettingsOf]):
    """What the core hands an adapter when it builds one, once per account: its name, its
    table's keys validated by the class's `settings_model`, its secrets (every key the
    class `needs` is there), and where files go: relative paths in the table are relative to
    `base_dir` (the config's folder), and state belongs under `state_dir`."""

    name: str
    settings: SettingsOf
    secrets: Mapping[str, str]
    base_dir: Path
    state_dir: Path


@dataclass(frozen=True)
class Needs:
    """The secrets an account needs, and how to get them (`{account}` in `hint` becomes the
    account's name); `key` is the account-table key `check` points at when one is missing."""

    keys: tuple[str, ...]
    hint: str = ""
    key: str = "network"


class AdapterClass(Protocol):
    """What an entry point (or a local adapter file) names: a class that says its network
    and the model of its account table's keys, built from an `Account`."""

    network: str
    settings_model: type[BaseModel]

    def __call__(self, account: Account[Any]) -> Adapter: ...


@runtime_checkable
class NeedsSecrets(Protocol):
    """Optional, on the adapter class: which secrets an account with these settings needs
    (X's depend on its `auth`); without it, none are required."""

    def needs(self, settings: Any) -> Needs: ...


def account_for(
    cls: AdapterClass,
    name: str,
    settings: Mapping[str, Any],
    secrets: Mapping[str, str],
    base_dir: Path,
    state_dir: Path,
) -> Account[Any]:
    """The account's keys validated (an AdapterConfigError names the key), secrets as
    given: what `crosspost auth` needs before any token exists."""
    parsed = parse_settings(cls.settings_model, dict(settings), cls.network)
    return Account(name, parsed, dict(secrets), base_dir, state_dir)


def construct(
    cls: AdapterClass,
    name: str,
    settings: Mapping[str, Any],
    secrets: Mapping[str, str],
    base_dir: Path,
    state_dir: Path,
) -> Adapter:
    """The one construction step, done by the core for every account (and by tests, so
    they build adapters as the daemon does): validate the keys, check the secrets the
    class `needs` (a MissingSecret names each and how to get it), then build."""
    account = account_for(cls, name, settings, secrets, base_dir, state_dir)
    if isinstance(cls, NeedsSecrets):
        needs = cls.needs(account.settings)
        require_secrets(
            cls.network,
            name,
            account.secrets,
            needs.keys,
            needs.hint.format(account=name),
            key=needs.key,
        )
    return cls(account)


def parse_settings(
    model: type[SettingsModel], settings: dict[str, Any], network: str
) -> SettingsModel:
    """Validate an account's adapter keys; the first problem becomes an AdapterConfigError
    naming its key, so `check` can point at the line."""
    try:
        return model.model_validate(settings)
    except ValidationError as exc:
        err = exc.errors()[0]
        key = str(err["loc"][0]) if err["loc"] else ""
        message = explain(err, list(model.model_fields), key=key, show=False)
        prefix = "" if err["type"] in ("extra_forbidden", "missing") else f"{key}: "
        raise AdapterConfigError(key, f"{network}: {prefix}{message}") from exc


def require_secrets(
    network: str,
    account: str,
    secrets: Mapping[str, str],
    keys: Iterable[str],
    hint: str,
    *,
    key: str = "network",
) -> None:
    """Raise an AdapterConfigError naming every secret `account` lacks, and how to get it."""
    missing = [name for name in keys if not secrets.get(name)]
    if missing:
        raise MissingSecret(
            key,
            f"{network}: no {', '.join(missing)} for {account!r} in the secrets file "
            f"([accounts.{account}]); {hint}",
        )


def profile_of(verified: Profile | str) -> Profile:
    """What `verify()` returned, as a Profile."""
    return verified if isinstance(verified, Profile) else Profile(str(verified))


def keep_secret(*values: str) -> None:
    """Redact these values from every log line and stored reason from now on (a token the
    adapter obtained itself, such as a refreshed OAuth token)."""
    REDACTOR.add(list(values))
