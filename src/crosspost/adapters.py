"""The adapter contract: what the core asks of a network, and how a network says what failed.

An adapter is built from its account's config table and secrets, doing no I/O. Then:

* ``rules``: its `TextRules`, so a post is checked before anything is sent;
* ``verify()``: one cheap authenticated call; returns the account's handle;
* ``publish(post, key) -> Receipt``: publish once; ``key`` is the delivery's stable identity,
  for networks that take an idempotency key;
* ``reconcile(post, key) -> Receipt | None`` (optional): after an unknown outcome, look for
  the post on the network.

Adapters never sleep and never retry; they raise one of these and the core decides::

    PublishError
    ├── TransientError       network error, timeout before sending, 5xx: retry with backoff
    │   └── RateLimited      retry not before `reset_at`
    ├── PermanentError       validation, duplicate, missing permission: fail with the reason
    ├── AuthError            expired or revoked credentials: fail, pause the account
    └── OutcomeUnknown       the request left and no answer came: `in_doubt`, never retried blindly

Adapters are found through the ``crosspost.adapters`` entry-point group (``outbox`` is the
core's own). The config never names a module to import: an adapter kept in a local file is
declared in the config's ``[adapters]`` table (``mynet = "adapters_local/mynet.py:MyNet"``),
an explicit opt-in by whoever owns the config.
"""

from __future__ import annotations

import importlib.util
import stat
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from pydantic import BaseModel, ValidationError

from crosspost.errors import (
    AdapterConfigError,
    AuthError,
    MissingSecret,
    OutcomeUnknown,
    PermanentError,
    PublishError,
    RateLimited,
    TransientError,
)
from crosspost.media import Image, MediaError
from crosspost.textrules import TextRules
from crosspost.transport import transport_error

__all__ = [
    "Adapter",
    "AdapterConfigError",
    "AdapterContext",
    "AdapterFactory",
    "AdapterNotInstalled",
    "AuthError",
    "Idempotent",
    "Image",
    "MediaError",
    "MissingSecret",
    "OutcomeUnknown",
    "OutgoingPost",
    "PermanentError",
    "Preflight",
    "PublishError",
    "RateLimited",
    "Receipt",
    "Reconciles",
    "TextRules",
    "TransientError",
    "find_adapter",
    "parse_settings",
    "require_secrets",
    "transport_error",
]


@dataclass(frozen=True)
class OutgoingPost:
    """What an adapter publishes: the fitted text (several parts for a thread) and media."""

    parts: tuple[str, ...]
    link: str = ""
    title: str = ""
    images: tuple[Image, ...] = ()
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    """What the network says it published. `warning` is set when the network stored
    something other than what was sent (read back after publishing): the delivery is sent,
    and the difference is reported as an error a person must look at."""

    remote_id: str
    url: str
    warning: str = ""


@runtime_checkable
class Adapter(Protocol):
    network: ClassVar[str]
    rules: TextRules

    def verify(self) -> str: ...

    def publish(self, post: OutgoingPost, key: str) -> Receipt: ...


@runtime_checkable
class Reconciles(Protocol):
    """Optional: after an unknown outcome (a lost answer, a crash), look for the post on the
    network: a Receipt if it is there, None only if it is certainly not there (the delivery
    is then sent again, the network asked once more just before); raise a PublishError when
    the network cannot tell (the delivery is then left to a person, in_doubt)."""

    def reconcile(self, post: OutgoingPost, key: str) -> Receipt | None: ...


@runtime_checkable
class Idempotent(Protocol):
    """Optional: `idempotent = True` says publishing twice with one key makes one post (the
    outbox names its file after the key; Mastodon takes an Idempotency-Key), so a delivery
    interrupted by a crash is simply sent again when reconcile cannot find it."""

    idempotent: bool


@runtime_checkable
class Preflight(Protocol):
    """Optional: the adapter's own checks of a post, run by `check`, `preview` and before
    sending; returns what keeps the post off the network, or None."""

    def preflight(self, post: OutgoingPost) -> str | None: ...


@dataclass(frozen=True)
class AdapterContext:
    """Where an adapter may keep files: relative paths in its table are relative to
    `base_dir` (the config file's folder); state belongs under `state_dir`."""

    base_dir: Path
    state_dir: Path


class AdapterFactory(Protocol):
    def __call__(
        self,
        account: str,
        settings: dict[str, Any],
        secrets: dict[str, str],
        context: AdapterContext,
    ) -> Adapter: ...


SettingsModel = TypeVar("SettingsModel", bound=BaseModel)


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
        if err["type"] == "extra_forbidden":
            raise AdapterConfigError(
                key, f"{network}: unknown key {key!r}; known keys: {', '.join(model.model_fields)}"
            ) from exc
        raise AdapterConfigError(key, f"{network}: {key}: {err['msg']}") from exc


def require_secrets(
    network: str,
    account: str,
    secrets: dict[str, str],
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


class AdapterNotInstalled(LookupError):
    pass


def find_adapter(
    network: str, local: Mapping[str, str] | None = None, base_dir: Path | None = None
) -> AdapterFactory:
    """The factory for a network name: one declared in the config's [adapters] table (a
    local file), else an installed distribution's entry point; a clear error otherwise."""
    if local and network in local:
        return _load_local(network, local[network], base_dir or Path.cwd())
    if ":" in network or "/" in network:
        raise AdapterNotInstalled(
            f"network {network!r} is not an adapter name; networks come from installed "
            "adapters (`pip install crosspost-<net>`), or from a local file declared in the "
            'config\'s [adapters] table, e.g. mynet = "mynet.py:MyAdapter"'
        )
    for point in entry_points(group="crosspost.adapters"):
        if point.name == network:
            loaded: AdapterFactory = point.load()
            return loaded
    known = sorted(point.name for point in entry_points(group="crosspost.adapters"))
    raise AdapterNotInstalled(
        f"no adapter for network {network!r}; install it with "
        f"`pip install crosspost-{network}` (or `pip install -e adapters/{network}`); "
        f"installed: {', '.join(known) or 'none'}"
    )


def _load_local(network: str, spec: str, base_dir: Path) -> AdapterFactory:
    """Import `Class` from `path.py` (relative to the config's folder) and nothing else."""
    file, _, attr = spec.rpartition(":")
    path = (base_dir / file).resolve()
    try:
        if not stat.S_ISREG(path.stat().st_mode) or path.suffix != ".py":
            raise OSError(f"{path} is not a .py file")
        module_spec = importlib.util.spec_from_file_location(f"crosspost_local_{network}", path)
        if module_spec is None or module_spec.loader is None:
            raise OSError(f"{path} cannot be imported")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_spec.name] = module
        module_spec.loader.exec_module(module)
        factory: AdapterFactory = getattr(module, attr)
    except (OSError, ImportError, AttributeError, SyntaxError) as exc:
        raise AdapterNotInstalled(f"cannot load adapter {network!r} from {spec!r}: {exc}") from exc
    return factory
