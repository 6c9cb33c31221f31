"""The `crosspost` command as a person runs it, for the end-to-end tests: a subprocess with
a wide terminal, so tables are not cut."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def crosspost(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crosspost", "-c", str(config), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "250"},
    )
