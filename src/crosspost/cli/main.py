"""The `crosspost` command line: run the daemon, and look at or fix what it does."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from crosspost import logs
from crosspost.cli import report as report_cli
from crosspost.cli import reports
from crosspost.cli.terminal import bounded, table
from crosspost.config.problems import ConfigError
from crosspost.config.settings import load_config
from crosspost.errors import StoreUnavailable
from crosspost.oauth import DEFAULT_REDIRECT_URI
from crosspost.render.first_comment import comment_rules
from crosspost.service.assembly import Setup, load_setup
from crosspost.sources import approval

EX_CONFIG = 78  # sysexits: systemd's RestartPreventExitStatus=78 stops restart loops on it
EX_TEMPFAIL = 75  # sysexits: trying again later may work (systemd restarts the service)


DELIVERY_ID = bounded(1, 2**63 - 1)

EXAMPLES = {
    "run": "crosspost run            # the daemon (systemd runs this)\n"
    "  crosspost run --once     # publish what is due now, then exit (for cron)",
    "check": "crosspost check          # validate files, render every upcoming post\n"
    "  crosspost check --online # also verify each account's credentials\n"
    "  crosspost -c ../site/crosspost.toml check --calendars 'calendar.d/*.toml'",
    "preview": "crosspost preview launch --account company_x",
    "upcoming": "crosspost upcoming --days 14",
    "history": "crosspost history --status failed",
    "retry": "crosspost retry 42",
    "approve": "crosspost approve spring-sale --as camille",
    "pending": "crosspost pending --days 14   # what awaits an approval",
    "release": "crosspost release 42   # send a post the charter held, as it is",
    "resolve": "crosspost resolve 42 --sent https://x.com/acme/status/1\n"
    "  crosspost resolve 42 --not-sent   # queue it to be published again",
    "auth": "crosspost auth company_linkedin\n"
    "  crosspost auth company_x --secrets /etc/crosspost/secrets.toml",
    "status": "crosspost status          # exit 0 healthy, 1 needs attention, 2 no daemon\n"
    "  crosspost status --json   # the same, for a script or a monitoring check",
    "alerts": "crosspost alerts test     # a test message to each [alerts.targets] URL",
    "report": report_cli.EXAMPLE,
    "feeds": "crosspost feeds                 # health of every feed\n"
    "  crosspost feeds preview blog    # the newest items as each account would get them",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crosspost",
        description=__doc__,
        epilog="Config: --config, else $CROSSPOST_CONFIG, else ./crosspost.toml",
    )
    parser.add_argument(
        "-c",
        "--config",
        type=Path,
        default=Path(os.environ.get("CROSSPOST_CONFIG", "crosspost.toml")),
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        help="where the daemon keeps its database (default: the config's state_dir; "
        "under systemd, /var/lib/crosspost)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        return sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            epilog="example:\n  " + EXAMPLES[name],
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )

    command("run", "Run the publishing daemon.").add_argument(
        "--once", action="store_true", help="publish what is due now, then exit"
    )
    check = command("check", "Validate config, calendars and templates; exit 1 on any error.")
    check.add_argument("--online", action="store_true", help="also verify every account")
    check.add_argument(
        "--calendars",
        nargs="+",
        metavar="PATH",
        help="check these calendar files or globs (relative to the current folder) instead of "
        "the config's: a calendars repository, or the files staged for a commit",
    )
    preview = command("preview", "Show the exact text each account will get.")
    preview.add_argument("post_id", nargs="?", help="one post (default: all upcoming)")
    preview.add_argument("--account", help="one account only")
    command("upcoming", "List what is planned.").add_argument(
        "--days", type=bounded(1, 36_600), default=7
    )
    command("status", "Is a daemon alive, and does anything need a person?").add_argument(
        "--json", action="store_true", help="print the facts as JSON"
    )
    command("alerts", "Send a test message to each alert target.").add_argument(
        "action", choices=["test"], help="test: send one message to each target"
    )
    feeds = command("feeds", "Show feed health, or preview a feed's newest items.")
    feeds.add_argument("action", nargs="?", choices=["preview"], help="preview NAME")
    feeds.add_argument("name", nargs="?", help="the feed to preview")
    feeds.add_argument(
        "--items", type=bounded(1, 100), default=3, help="items to preview (default 3)"
    )
    history = command("history", "List deliveries, newest first.")
    history.add_argument(
        "--status", help="queued, sending, sent, failed, in_doubt, missed, cancelled"
    )
    history.add_argument("--limit", type=bounded(1, 100_000), default=50)
    command("retry", "Queue a failed, missed or cancelled delivery again.").add_argument(
        "delivery", type=DELIVERY_ID
    )
    approve = command("approve", "Approve a post: write approved_by into its calendar entry.")
    approve.add_argument("post_id")
    approve.add_argument("--as", dest="approver", help="your name, as in [daemon] approvers "
                         "(default: $CROSSPOST_APPROVER, else your login)")  # fmt: skip
    command("pending", "List the posts that await an approval.").add_argument(
        "--days", type=bounded(1, 36_600), default=30
    )
    command("release", "Send a delivery the charter held, after a person decided.").add_argument(
        "delivery", type=DELIVERY_ID
    )
    resolve = command("resolve", "Settle an in_doubt delivery after looking at the network.")
    resolve.add_argument("delivery", type=DELIVERY_ID)
    choice = resolve.add_mutually_exclusive_group(required=True)
    choice.add_argument("--sent", metavar="URL", help="it was published, at this URL")
    choice.add_argument("--not-sent", action="store_true", help="it was not: publish it again")
    report_cli.add_arguments(command("report", "Report what the networks said about the posts."))
    auth = command("auth", "Get an account's token: open a URL, approve, paste the answer.")
    auth.add_argument("account")
    auth.add_argument(
        "--redirect-uri",
        default=DEFAULT_REDIRECT_URI,
        help=f"as registered with the app (default {DEFAULT_REDIRECT_URI})",
    )
    auth.add_argument("--secrets", type=Path, help="the secrets file to write (default: config's)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _dispatch(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(
            f"crosspost: {len(exc.problems)} problem(s) in the config; nothing was started",
            file=sys.stderr,
        )
        return EX_CONFIG
    except StoreUnavailable as exc:
        print(f"crosspost: {exc}", file=sys.stderr)
        return EX_TEMPFAIL if exc.temporary else EX_CONFIG
    except BrokenPipeError:  # `crosspost history | head`: the reader has all it wants
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def _dispatch(args: argparse.Namespace) -> int:
    if args.command == "run":
        return _run(args.config, args.once, args.state_dir)
    logs.configure("console", "warning", sys.stderr)
    now = datetime.now(UTC)
    if args.command == "auth":
        from crosspost.cli.auth import run_auth

        return run_auth(args.config, args.account, args.redirect_uri, args.secrets)
    if args.command == "alerts":
        from crosspost.cli.alerts import test_targets

        return test_targets(load_setup(args.config, state_dir=args.state_dir))
    if args.command == "feeds" and args.action == "preview":
        from crosspost.cli.feed_preview import preview_feed

        return preview_feed(
            load_setup(args.config, state_dir=args.state_dir), args.name, args.items
        )
    if args.command in ("history", "retry", "release", "resolve", "feeds", "status"):
        from crosspost.cli import deliveries  # only these need the database

        return deliveries.main(args, now)
    calendars = getattr(args, "calendars", None)
    setup = load_setup(args.config, state_dir=args.state_dir, calendars=calendars)
    if args.command == "check":
        return _check(setup, now, args.online)
    if args.command == "preview":
        return _preview(setup, now, args.post_id, args.account)
    if args.command == "report":
        return report_cli.run(setup, args, now)
    if args.command in ("approve", "pending"):
        from crosspost.cli import approve

        if args.command == "pending":
            return approve.pending(setup, now, args.days)
        return approve.approve(setup, args.post_id, args.approver, args.state_dir)
    rows = reports.upcoming_rows(setup, now, args.days)
    print(table(["when", "post", "accounts", "by", "text"], rows))
    return 0


def _run(path: Path, once: bool, state_dir: Path | None) -> int:
    from crosspost.service.daemon import Daemon
    from crosspost.service.runtime import Runtime

    try:
        daemon = load_config(path).daemon
        logs.configure(daemon.log_format, daemon.log_level)
        runtime = Runtime(path, state_dir=state_dir)
    except ConfigError as exc:
        logs.configure()
        for problem in exc.problems:
            logs.get().error("config invalid", problem=str(problem))
        return EX_CONFIG
    except StoreUnavailable as exc:
        temporary = exc.temporary
        logs.get().error(
            "database unavailable",
            reason=str(exc),
            exit=EX_TEMPFAIL if temporary else EX_CONFIG,
            fix="systemd will try again" if temporary else "fix the config, then start again",
        )
        return EX_TEMPFAIL if temporary else EX_CONFIG
    if not once:
        return Daemon(runtime).serve()
    from crosspost.cli import deliveries

    return deliveries.run_once(runtime)


def _check(setup: Setup, now: datetime, online: bool) -> int:
    from crosspost.cli.checks import forgotten_dates, metrics_problems, storage_problems

    stored, engine = storage_problems(setup.config, online)
    dates = forgotten_dates(setup.config, setup.calendar.posts.values(), engine, now)
    problems = [*stored, *reports.check_problems(setup, now), *dates]
    problems += metrics_problems(setup.config)
    problems += approval.problems(setup.config, list(setup.calendar.posts.values()))
    for problem in problems:
        print(problem)
    errors = sum(p.severity == "error" for p in problems)
    warnings = sum(p.severity == "warning" for p in problems)
    notes = len(problems) - errors - warnings
    if online:
        rows = reports.verify_accounts(setup)
        print(table(["account", "network", "verify"], rows))
        errors += sum(row[2].startswith("FAILED") for row in rows)
    print(
        f"{setup.config.path.name}: {len(setup.calendar.posts)} posts, "
        f"{len(setup.adapters)} accounts, {errors} error(s), {warnings} warning(s)"
        + (f", {notes} note(s)" if notes else "")
    )
    return 1 if errors else 0


def _preview(setup: Setup, now: datetime, post_id: str | None, account: str | None) -> int:
    if post_id:
        if post_id not in setup.calendar.posts:
            print(f"no post {post_id!r}; see `crosspost upcoming`", file=sys.stderr)
            return 1
        posts = [setup.calendar.posts[post_id]]
    else:
        posts = [
            p
            for p in setup.calendar.posts.values()
            if not p.draft and p.next_after(now, setup.config.zone)
        ]
    failed = False
    for item in reports.render_all(setup, posts, account):
        print(f"── {item.post.id} → {item.account} ({item.rules.describe()})")
        if item.error:
            failed = True
            print(f"   ERROR: {item.error}\n")
            continue
        assert item.outgoing is not None
        rules = comment_rules(setup.adapters[item.account])
        print(reports.describe(item.outgoing, item.rules, rules))
        for hit in reports.charter_hits(setup, item):
            failed = failed or hit.rule.severity == "error"
            print(f"   CHARTER {hit.rule.severity.upper()}: {hit.describe()}\n")
    return 1 if failed else 0
