"""`crosspost auth`: what the core does around a network's OAuth flow, with no network code.

An adapter class that supports the walk-through has a classmethod
``oauth_flow(account, settings, secrets) -> OAuthFlow``. The flow builds the authorization
URL and exchanges the code (its HTTP calls live in the adapter). The core prints the URL,
reads the code (or the whole redirect address) pasted back, checks the `state`, and writes
the tokens into the secrets file: mode 0600, written to a temporary file then renamed, other
accounts and comments kept. When a token expires, ``<key>_expires_at`` records when, and
`check` warns 7 days before.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets as random
import tempfile
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

from crosspost.config.problems import ConfigError, Problem

DEFAULT_REDIRECT_URI = "http://localhost:8910/callback"


@dataclass(frozen=True)
class Tokens:
    """What the exchange gave: secrets to store, and when each one stops working."""

    secrets: dict[str, str]
    expires_at: dict[str, datetime] = field(default_factory=dict)


class OAuthFlow(Protocol):
    instructions: str  # where to register the app and which scopes, shown before the URL

    def authorization_url(self, redirect_uri: str, state: str) -> str: ...

    def exchange(self, code: str, redirect_uri: str) -> Tokens: ...


class AuthAborted(Exception):
    """The pasted answer is unusable (an error from the network, a wrong state, nothing)."""


def new_state() -> str:
    return random.token_urlsafe(24)


def pkce_pair() -> tuple[str, str]:
    """(verifier, S256 challenge) for PKCE (RFC 7636)."""
    verifier = random.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def code_from_answer(answer: str, state: str) -> str:
    """The authorization code from the redirect address pasted back (or the bare code)."""
    answer = answer.strip()
    if not answer:
        raise AuthAborted("nothing was pasted")
    if "://" not in answer and "code=" not in answer:
        return answer
    query = parse_qs(urlsplit(answer).query or answer.partition("?")[2] or answer)
    if "error" in query:
        why = query.get("error_description", query["error"])[0]
        raise AuthAborted(f"the network refused the authorization: {why}")
    if query.get("state", [state])[0] != state:
        raise AuthAborted(
            "the address is from another authorization attempt (state differs); start again"
        )
    if "code" not in query:
        raise AuthAborted("the pasted address has no code= in it; paste the whole address")
    return query["code"][0]


def save_tokens(path: Path, account: str, tokens: Tokens) -> None:
    """Write the tokens into ``[accounts.<account>]`` of the secrets file, keeping the rest."""
    import tomlkit  # only `crosspost auth` needs it; the daemon never loads it

    if path.exists():
        try:
            document = tomlkit.parse(path.read_text(encoding="utf-8"))
        except (OSError, tomlkit.exceptions.ParseError) as exc:
            raise ConfigError(
                [Problem(str(path), 0, "", f"cannot update the secrets file: {exc}")]
            ) from exc
    else:
        document = tomlkit.document()
    accounts = document.setdefault("accounts", tomlkit.table(is_super_table=True))
    table = accounts.setdefault(account, tomlkit.table())
    for key, value in tokens.secrets.items():
        table[key] = value
    for key, when in tokens.expires_at.items():
        table[f"{key}_expires_at"] = when
    write_private(path, tomlkit.dumps(document))


def write_private(path: Path, text: str) -> None:
    """Replace `path` with `text`, mode 0600, never leaving a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
