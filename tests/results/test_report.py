"""`crosspost report` over a known data set, in every format: the table, CSV and JSON give
the same numbers, missing ones shown as missing; the HTML is one file whose charts are
embedded; bad input is a usage error that says what is accepted."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from sqlmodel import Session

from crosspost import store
from crosspost.cli.main import main
from crosspost.config.settings import load_config
from crosspost.store.tables import Delivery, MeasureState, Snapshot

NOW = datetime.now(UTC).replace(microsecond=0)


def add_post(engine, n: int, account: str, sent: datetime, author: str, text: str,  # type: ignore[no-untyped-def]
             snapshots: list[dict[str, int | None]]) -> None:  # fmt: skip
    with Session(engine) as session:
        row = Delivery(key=f"k{n}", post_id=f"p{n}", occurrence="once", account=account,
                       due_at=sent, status="sent", next_attempt_at=sent, remote_id=f"r{n}",
                       remote_url=f"https://net.example/p/{n}", text=text, author=author,
                       updated_at=sent)  # fmt: skip
        session.add(row)
        session.flush()
        assert row.id is not None
        session.add(
            MeasureState(delivery_id=row.id, account=account, sent_at=sent, taken=len(snapshots))
        )
        for step, values in enumerate(snapshots):
            session.add(
                Snapshot(delivery_id=row.id, taken_at=sent + timedelta(days=step + 1), **values)
            )
        session.commit()


@pytest.fixture
def site(make_site) -> Path:  # type: ignore[no-untyped-def]
    path: Path = make_site("")
    engine = store.open_engine(load_config(path).database_url)
    day = NOW - timedelta(days=10)
    add_post(
        engine,
        1,
        "net",
        day.replace(hour=9),
        "camille",
        "Winter bread <script>alert(1)</script>",
        [{"likes": 4, "replies": 1}, {"likes": 10, "replies": 2, "impressions": 300}],
    )
    add_post(
        engine,
        2,
        "net",
        day.replace(hour=18) + timedelta(days=1),
        "sam",
        "Rye is back",
        [{"likes": 2, "replies": 0, "impressions": 120}],
    )
    add_post(engine, 3, "box", day.replace(hour=9) + timedelta(days=2), "camille", "Spelt", [])
    add_post(engine, 4, "net", NOW - timedelta(days=40), "sam", "Last month", [{"likes": 50}])
    return path


def report(path: Path, capsys, *args: str) -> tuple[int, str, str]:  # type: ignore[no-untyped-def]
    code = main(["-c", str(path), "report", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_table_by_network_shows_sums_and_missing_numbers(site, capsys) -> None:
    code, out, _ = report(site, capsys)
    assert code == 0 and "3 posts" in out  # the last 30 days: not last month's
    net = next(line for line in out.splitlines() if line.startswith("testnet"))
    cells = net.split()
    assert cells[:8] == ["testnet", "2", "12", "—", "2", "420", "—", "—"]  # likes, ... clicks
    outbox = next(line for line in out.splitlines() if line.startswith("outbox"))
    assert outbox.split()[1:3] == ["1", "—"] and "not yet" in outbox  # nothing collected yet
    assert "it is not a zero" in out


def test_csv_and_json_are_complete_and_agree(site, capsys) -> None:
    _, out, _ = report(site, capsys, "--by", "post", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == [
        "post",
        "posts",
        "posts_measured",
        "likes",
        "reposts",
        "replies",
        "impressions",
        "saves",
        "clicks",
        "interactions",
        "collected_at",
        "url",
    ]
    first = next(r for r in rows if r["post"] == "p1 → net")
    assert first["likes"] == "10" and first["reposts"] == "" and first["interactions"] == "12"
    assert first["url"] == "https://net.example/p/1" and first["collected_at"]
    _, out, _ = report(site, capsys, "--by", "post", "--format", "json")
    document = json.loads(out)
    groups = {g["key"]: g for g in document["groups"]}
    assert groups["p1 → net"]["likes"] == 10 and groups["p1 → net"]["reposts"] is None
    assert groups["p3 → box"]["collected_at"] is None and groups["p3 → box"]["likes"] is None
    assert len(groups) == 3 and document["by"] == "post"


def test_by_author_weekday_and_hour(site, capsys) -> None:
    _, out, _ = report(site, capsys, "--by", "author", "--format", "json")
    authors = {g["key"]: g for g in json.loads(out)["groups"]}
    assert authors["camille"]["posts"] == 2 and authors["camille"]["likes"] == 10
    assert authors["sam"]["impressions"] == 120
    _, out, _ = report(site, capsys, "--by", "hour", "--format", "csv")
    hours = [r["hour"] for r in csv.DictReader(io.StringIO(out))]
    assert hours == sorted(hours) and "09:00" in hours and "18:00" in hours


class Images(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append(dict(attrs).get("src") or "")
        if tag == "script":
            raise AssertionError("a post's text became a script")

    def handle_data(self, data: str) -> None:
        self.text += data


def test_the_html_report_is_one_file_with_its_charts(site, capsys, tmp_path) -> None:
    target = tmp_path / "results.html"
    code, _, err = report(site, capsys, "--format", "html", "--output", str(target))
    assert code == 0 and "3 posts" in err
    page = Images()
    page.feed(target.read_text())
    assert len(page.images) == 4 and all(
        i.startswith("data:image/png;base64,iVBOR") for i in page.images
    )
    assert "Winter bread <script>alert(1)</script>" in page.text  # shown as text, escaped
    assert "Best posts" in page.text and "Weakest posts" in page.text
    assert "change on the previous" in page.text and "+" in page.text  # 3 posts against 1


def test_the_growth_chart_averages_each_posts_latest_number_at_each_age(site) -> None:
    from crosspost.results import data, html

    config = load_config(site)
    chosen = data.period(NOW, config.zone, "30d")
    results = data.load(store.open_engine(config.database_url), config, chosen, history=True)
    assert sorted(len(r.history) for r in results) == [0, 1, 2]
    # p1: 5 after a day, 12 after two (nearer a day than a week): 12; p2: 2 after a day.
    assert html.growth(results) == {"testnet": [None, 7.0, None, None, None, None]}
    assert all(r.history == [] for r in data.load(store.open_engine(config.database_url),
                                                  config, chosen))  # fmt: skip


def test_an_empty_period_says_so(site, capsys) -> None:
    code, out, _ = report(site, capsys, "--from", "2020-01-01", "--to", "2020-01-31")
    assert code == 0 and "No post went out from 2020-01-01 to 2020-01-31" in out


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--by", "colour"], "invalid choice: 'colour'"),
        (["--from", "yesterday"], "--from 'yesterday': give a date as YYYY-MM-DD"),
        (["--since", "a while"], "give a duration such as 7d"),
        (["--from", "2026-02-01", "--to", "2026-01-01"], "is before --from"),
        (["--output", "/no/such/folder/r.html"], "the folder /no/such/folder does not exist"),
    ],
)
def test_bad_input_is_a_usage_error_saying_what_is_accepted(site, capsys, args, said) -> None:
    try:
        code = main(["-c", str(site), "report", *args])
    except SystemExit as exc:  # argparse's own usage error
        code = int(exc.code or 0)
    assert code == 2 and said in capsys.readouterr().err


def test_html_without_matplotlib_says_how_to_install_it(site, tmp_path) -> None:
    hide = ("import sys; sys.modules['matplotlib'] = None; from crosspost.cli.main import main; "
            f"sys.exit(main(['-c', {str(site)!r}, 'report', '--format', 'html']))")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", hide], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "pip install 'crosspost[report]'" in done.stderr
