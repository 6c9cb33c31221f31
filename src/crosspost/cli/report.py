"""`crosspost report`: what the networks said about the posts of a period, grouped, as a
terminal table, CSV, JSON or a self-contained HTML file."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from pathlib import Path

from crosspost import store
from crosspost.cli.terminal import table
from crosspost.results import data, formats
from crosspost.service.assembly import Setup

EXAMPLE = (
    "crosspost report                       # the last 30 days, by network\n"
    "  crosspost report --since 7d --by author\n"
    "  crosspost report --from 2026-11-01 --to 2026-11-30 --by post --format csv -o nov.csv\n"
    "  crosspost report --format html --output results.html"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--since", default="", help="a duration back from now: 7d, 30d, 12w")
    parser.add_argument("--from", dest="start", default="", metavar="DATE", help="YYYY-MM-DD")
    parser.add_argument("--to", dest="end", default="", metavar="DATE", help="YYYY-MM-DD")
    parser.add_argument("--by", choices=formats.GROUPINGS, default="network")
    parser.add_argument("--format", choices=formats.FORMATS, default="table")
    parser.add_argument("-o", "--output", type=Path, help="write here instead of the terminal")


def run(setup: Setup, args: argparse.Namespace, now: datetime) -> int:
    zone = setup.config.zone
    try:
        chosen = data.period(now, zone, args.since, args.start, args.end)
    except data.PeriodError as exc:
        return _usage(str(exc))
    if args.output is not None and (why := _unwritable(args.output)):
        return _usage(why)
    engine = store.open_existing(setup.config.database_url)
    if engine is None:
        from crosspost.cli.deliveries import no_database

        print(no_database(setup.config), file=sys.stderr)
        return 1
    results = data.load(engine, setup.config, chosen, history=args.format == "html")
    if args.format == "html":
        from crosspost.results import html

        before = data.load(engine, setup.config, chosen.previous())
        try:
            text = html.render(results, before, chosen, zone, now)
        except html.ChartsUnavailable as exc:
            print(f"crosspost report: {exc}", file=sys.stderr)
            return 1
    else:
        groups = formats.group(results, args.by, zone)
        if args.format == "csv":
            text = formats.as_csv(groups, args.by)
        elif args.format == "json":
            text = formats.as_json(groups, args.by, chosen, now)
        else:
            text = _table(groups, args.by, chosen, setup, len(results))
    if args.output is None:
        sys.stdout.write(text)
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"report written to {args.output} ({len(results)} posts)", file=sys.stderr)
    return 0


def _table(groups: list[formats.Group], by: str, chosen: data.Period, setup: Setup, n: int) -> str:
    zone = setup.config.zone
    if not n:
        return (f"No post went out from {chosen.describe(zone)}: nothing to report. "
                "Choose a longer period with --since or --from.\n")  # fmt: skip
    header, *rows = formats.table(groups, by, zone)
    shown = table(header, rows)
    return (f"Results from {chosen.describe(zone)}: {n} posts. “—”: the network did not give "
            f"that number (it is not a zero).\n\n{shown}\n")  # fmt: skip


def _unwritable(output: Path) -> str:
    folder = output.parent if str(output.parent) else Path(".")
    if not folder.is_dir():
        return f"--output {output}: the folder {folder} does not exist"
    if not os.access(folder, os.W_OK) or (output.exists() and not os.access(output, os.W_OK)):
        return f"--output {output}: cannot write there; choose a folder you can write to"
    return ""


def _usage(message: str) -> int:
    print(f"crosspost report: {message}", file=sys.stderr)
    return 2
