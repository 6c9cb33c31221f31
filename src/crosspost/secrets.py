"""The secrets file: tokens kept out of the config and the calendar, never logged.

Format: one table per account, e.g. ``[accounts.company_x] access_token = "…"``. Under
systemd the file comes in as a credential (`LoadCredential=secrets:…`). Every value read is
handed to the log redactor before any adapter can use it.
"""

from __future__ import annotations

import stat
from pathlib import Path

from crosspost.logs import REDACTOR
from crosspost.problems import ConfigError, Problem, read_toml


def load_secrets(path: Path | None) -> tuple[dict[str, dict[str, str]], list[Problem]]:
    """Secrets per account, and warnings (a file others can read is worth a warning)."""
    if path is None:
        return {}, []
    if not path.exists():
        raise ConfigError(
            [
                Problem(
                    str(path),
                    0,
                    "daemon.secrets",
                    "secrets file not found; create it (mode 0600) or remove the key",
                )
            ]
        )
    data, _ = read_toml(path)
    accounts = data.get("accounts", {})
    result = {
        name: {k: str(v) for k, v in table.items()}
        for name, table in accounts.items()
        if isinstance(table, dict)
    }
    REDACTOR.update(v for table in result.values() for v in table.values())
    problems = []
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
