"""Draw the README's picture of the HTML report (docs/report.png): a made-up month of a
small company's posts, rendered by the same code as `crosspost report --format html`, then
photographed by a headless Chromium (`apt-get install chromium`).

    .venv/bin/python demo/report_pictures.py
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from crosspost.engagement import Engagement
from crosspost.results import html
from crosspost.results.data import Period, PostResult

DOCS = Path(__file__).resolve().parents[1] / "docs"
NETWORKS = {"linkedin": 1.6, "facebook": 1.0, "instagram": 2.2, "x": 0.5, "mastodon": 0.4}
AUTHORS = ("Camille", "Sam", "Léa", "Marc")
TEXTS = (
    "Our winter menu is here: three new breads, one old favourite.",
    "Meet Léa, who bakes the rye every morning at five.",
    "We are hiring a weekend baker — come and say hello.",
    "How we choose our flour, in four pictures.",
    "Closed on Monday for the inventory; see you on Tuesday!",
)
AGES = (timedelta(hours=1), timedelta(days=1), timedelta(days=7), timedelta(days=14))


def month(start: datetime, count: int, seed: int) -> list[PostResult]:
    rng = random.Random(seed)
    results = []
    for n in range(count):
        network = list(NETWORKS)[n % len(NETWORKS)]
        sent = start + timedelta(days=rng.randrange(28), hours=rng.choice((7, 9, 12, 17, 19)))
        base = NETWORKS[network] * (1.8 if sent.hour in (9, 17) else 1.0) * (1 + n / count)
        likes = max(0, int(rng.gauss(30, 8) * base))
        history = []
        for share, age in zip((0.3, 0.8, 0.95, 1.0), AGES, strict=True):
            part = int(likes * share)
            seen = None if network == "mastodon" else part * 40
            numbers = Engagement(part, part // 12, part // 8, seen)
            history.append((sent + age, numbers))
        results.append(PostResult(n, f"post-{n}", f"bakery_{network}", network, "v",
                                  AUTHORS[n % 4], TEXTS[n % len(TEXTS)],
                                  f"https://{network}.example/p/{n}", sent,
                                  history[-1][1], history[-1][0], history))  # fmt: skip
    return results


def main() -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("this needs a headless Chromium: apt-get install chromium")
    start = datetime(2026, 11, 2, tzinfo=UTC)
    chosen = Period(start, start + timedelta(days=28))
    before = month(start - timedelta(days=28), 100, 3)
    generated = chosen.end + timedelta(days=15)
    title = "Results — Boulangerie Martin"
    page = html.render(
        month(start, 120, 7), before, chosen, ZoneInfo("Europe/Paris"), generated, title
    )
    DOCS.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "report.html"
        source.write_text(page, encoding="utf-8")
        subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu",
                        "--hide-scrollbars", "--window-size=1000,3300",
                        f"--screenshot={DOCS / 'report.png'}", source.as_uri()],
                       check=True, capture_output=True, timeout=120)  # fmt: skip
    print(DOCS / "report.png", file=sys.stderr)


if __name__ == "__main__":
    main()
