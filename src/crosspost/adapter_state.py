"""Files an adapter keeps under its account's state directory, the same way for every network.

A thread is several posts. Each part's id is written as soon as the network returns it (synced
to disk, mode 0600), so a retry after a failure in the middle, or after a crash, continues the
chain instead of posting its first parts again. X, Mastodon, Bluesky and Threads all need
exactly this, so it lives here once, in the adapter API.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from crosspost.oauth import write_private


class ThreadProgress:
    """The ids already posted for a delivery, one small JSON file per unfinished thread."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _file(self, key: str) -> Path:
        return self.folder / (hashlib.sha256(key.encode()).hexdigest()[:24] + ".json")

    def load(self, key: str) -> list[str]:
        """The ids posted so far for `key` (none when nothing was, or the file is unreadable)."""
        try:
            ids = json.loads(self._file(key).read_text())
        except (OSError, ValueError):
            return []
        return [str(i) for i in ids] if isinstance(ids, list) else []

    def save(self, key: str, ids: list[str]) -> None:
        if ids:  # synced to disk: a crash right after must not lose a posted part's id
            write_private(self._file(key), json.dumps(ids))

    def clear(self, key: str) -> None:
        self._file(key).unlink(missing_ok=True)
