"""The secrets file: tokens kept out of the config and the calendar, never logged.

Format: one table per account, e.g. ``[accounts.company_x] access_token = "…"``. Under
systemd the file comes in as a credential (`LoadCredential=secrets:…`). Every value read is
handed to the log redactor before any adapter can use it.
"""

from __future__ import annotations

import re
import stat
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from crosspost.config.problems import LineFinder, Problem, read_toml
from crosspost.logs import REDACTOR

EXPIRES = "_expires_at"  # `<key>_expires_at`: when that token stops working (not a secret)
WARN_BEFORE = timedelta(days=7)


def load_secrets(
    path: Path | None, now: datetime | None = None
) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """Secrets per account, and warnings (a file others can read is worth a warning)."""
    if path is None:
        return {}, []
    if not path.exists():
        return {}, [
            Problem(
                str(path),
                0,
                "daemon.secrets",
                "secrets file not found: accounts that need a token cannot publish; create it "
                "(mode 0600) or point [daemon] secrets at it",
                "warning",
            )
        ]
    data, text = read_toml(path)
    accounts = data.get("accounts", {})
    raw = [
        str(v)
        for t in accounts.values()
        if isinstance(t, dict)
        for k, v in t.items()
        if not k.endswith(EXPIRES)  # a date, not a secret: "expires on 2026-03-06" stays
    ]
    raw += _alert_secrets(data.get("alerts"))
    REDACTOR.update(raw)  # as written too: a trailing newline must not leak the rest
    result = {
        name: {k: str(v).strip() for k, v in table.items() if not k.endswith(EXPIRES)}
        for name, table in accounts.items()
        if isinstance(table, dict)
    }
    problems = expiry_problems(path, text, accounts, now or datetime.now(UTC))
    for name, table in result.items():
        problem = unusable(path, text, name, table)
        if problem is not None:  # that account cannot publish; the others can
            problems.append(problem)
            del table[problem.key.rsplit(".", 1)[1]]
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        problems.append(
            Problem(
                str(path),
                0,
                "",
                f"secrets file is readable by others; run: chmod 600 {path}",
                "warning",
            )
        )
    return result, problems


def alert_urls(path: Path | None) -> dict[str, tuple[str, int]]:
    """The alert URLs of the secrets file (``[alerts.NAME] url = "…"``) by target name,
    each with its line."""
    if path is None or not path.is_file():
        return {}
    data, text = read_toml(path)
    alerts = data.get("alerts", {})
    lines = LineFinder(text)
    return {
        name: (str(table["url"]).strip(), lines.key_line(f"alerts.{name}", 0, "url"))
        for name, table in (alerts.items() if isinstance(alerts, dict) else [])
        if isinstance(table, dict) and table.get("url")
    }


def _alert_secrets(alerts: object) -> list[str]:
    """Every alert URL as written, and the passwords and tokens inside it, for the redactor:
    apprise or a mail server may echo one part alone."""
    from crosspost.config.alerts import secret_parts

    if not isinstance(alerts, dict):
        return []
    urls = [str(t.get("url", "")) for t in alerts.values() if isinstance(t, dict)]
    return [form for url in urls if url for form in (url, *secret_parts(url.strip()))]


def unusable(path: Path, text: str, account: str, secrets: dict[str, str]) -> Problem | None:
    """A secret that cannot go into an HTTP header (a typographic quote or an accent pasted
    with it): an error for that account only, naming the position, never the value."""
    for key, value in secrets.items():
        bad = next((i for i, c in enumerate(value) if not 0x21 <= ord(c) <= 0x7E), None)
        if bad is not None:
            return Problem(
                str(path),
                _line_of(text, account, key),
                f"accounts.{account}.{key}",
                f"the {key} of {account} has a character that is not printable ASCII at "
                f"position {bad + 1} (pasted with the token?); copy the token again",
            )
    return None


def expiry_problems(
    path: Path, text: str, accounts: dict[str, Any], now: datetime
) -> list[Problem]:
    """A warning for each token that expires within 7 days, an error for one that has."""
    problems = []
    for name, table in accounts.items():
        if not isinstance(table, dict):
            continue
        for key, value in table.items():
            if not key.endswith(EXPIRES) or not isinstance(value, (date, datetime)):
                continue
            when = value if isinstance(value, datetime) else datetime.combine(value, time())
            when = when if when.tzinfo else when.replace(tzinfo=UTC)
            token = key.removesuffix(EXPIRES)
            line = _line_of(text, name, key)
            if when <= now:
                message = f"the {token} of {name} expired on {when:%Y-%m-%d}"
                severity = "error"
            elif when - now <= WARN_BEFORE:
                days = (when - now).days
                message = f"the {token} of {name} expires on {when:%Y-%m-%d} (in {days} days)"
                severity = "warning"
            else:
                continue
            problems.append(
                Problem(
                    str(path),
                    line,
                    f"accounts.{name}.{key}",
                    f"{message}; renew it: crosspost auth {name}",
                    severity,
                )
            )
    return problems


def _line_of(text: str, account: str, key: str) -> int:
    """The line of `key` in the ``[accounts.<account>]`` table (0 when not found)."""
    header = re.search(rf"^\s*\[\s*accounts\.{re.escape(account)}\s*\]", text, re.MULTILINE)
    start = header.end() if header else 0
    match = re.compile(rf"^\s*{re.escape(key)}\s*=", re.MULTILINE).search(text, start)
    return text.count("\n", 0, match.start()) + 1 if match else 0
