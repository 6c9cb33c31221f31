"""Run every benchmark and write their output into bench/README.md ("Latest results").

python bench/run_all.py [--quick]     # --quick: 60 s of idle instead of 10 minutes
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
MARK = "## Latest results"


def main() -> None:
    quick = "--quick" in sys.argv
    runs = [
        ["calendar_10k.py", "--idle-seconds", "60" if quick else "600"],
        ["fire_precision.py"],
        ["lanes.py"],
        ["feeds_500.py", "--cpu-seconds", "120" if quick else "600"],
        ["vs_feed2toot.py"],
        ["alerts_idle.py", "--idle-seconds", "60" if quick else "180"],
        ["report_year.py"],
    ]
    outputs = []
    for args in runs:
        print(f"$ python bench/{' '.join(args)}", flush=True)
        done = subprocess.run(
            [sys.executable, str(HERE / args[0]), *args[1:]],
            capture_output=True,
            text=True,
            cwd=HERE,
        )
        print(done.stdout + done.stderr, flush=True)
        outputs.append(f"$ python bench/{' '.join(args)}\n{done.stdout.strip()}")
    readme = HERE / "README.md"
    text = readme.read_text(encoding="utf-8")
    block = MARK + "\n\nWritten by `bench/run_all.py`:\n\n```\n" + "\n\n".join(outputs) + "\n```\n"
    text = (
        re.sub(rf"{MARK}.*\Z", lambda _: block, text, flags=re.S)
        if MARK in text
        else text + "\n" + block
    )
    readme.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
