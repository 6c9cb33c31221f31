"""Bad alert and metrics settings: `check` names file, line and key and says what to do,
never echoes a credential; `crosspost alerts test` against a live and a dead target."""

from __future__ import annotations

import base64
import socket
from pathlib import Path

from alert_standins import HookServer
from test_alert_worker import hook  # noqa: F401  (the fixture)

from crosspost.cli.main import main


def check(config: Path, capsys) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    code = main(["-c", str(config), "check"])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_each_bad_setting_is_named_at_its_line(make_site, tmp_path: Path, capsys) -> None:
    config = make_site(extra=(
        '\n[alerts]\ndigest = "6pm"\n'
        '\n[alerts.targets.team]\nurl = "bogus://nowhere"\n'
        '\n[alerts.targets.boss]\nurl = "json://127.0.0.1:9/hook"\nevents = ["faild"]\n'
    ))  # fmt: skip
    code, out = check(config, capsys)
    assert code == 78, out  # the config does not load: each problem is listed
    lines = (tmp_path / "crosspost.toml").read_text().splitlines()
    digest_line = lines.index('digest = "6pm"') + 1
    events_line = lines.index('events = ["faild"]') + 1
    assert f"crosspost.toml:{digest_line}: [alerts.digest] error: digest = '6pm'" in out
    assert "write a time of day as HH:MM, like 18:00" in out
    assert f"crosspost.toml:{events_line}: [alerts.targets.boss.events] error:" in out
    assert "unknown event 'faild'; did you mean 'failed'?" in out


def test_a_bad_url_and_a_credential_in_the_config_are_errors_but_secrets_are_fine(
    make_site, tmp_path: Path, capsys
) -> None:
    password, token = "hunter2-very-secret", "TIiajkdnlazkcOXrIdevi7FQ"
    config = make_site(extra=(
        '\n[alerts.targets.team]\nurl = "bogus://nowhere"\n'
        f'\n[alerts.targets.mail]\nurl = "mailtos://ops:{password}@mail.acme.test"\n'
        '\n[alerts.targets.chat]\nevents = ["failed"]\n'
        '\n[alerts.targets.none]\n'
    ))  # fmt: skip
    lines = (tmp_path / "crosspost.toml").read_text().splitlines()
    code, out = check(config, capsys)
    assert code == 1
    team_line = lines.index('url = "bogus://nowhere"') + 1
    assert f"crosspost.toml:{team_line}: [alerts.targets.team.url] error: apprise cannot" in out
    mail_line = next(n for n, line in enumerate(lines, 1) if "mailtos" in line)
    assert f"crosspost.toml:{mail_line}: [alerts.targets.mail.url] error: this URL carries a" in out
    assert "[alerts.targets.none] error: target none has no url" in out
    assert password not in out
    # the secrets file is where such a URL belongs: then it is used, and never shown
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(secrets.read_text() + (
        f'\n[alerts.chat]\nurl = "slack://T1JJ3T3L2/A1BRTD4JD/{token}"\n'
        f'\n[alerts.mail]\nurl = "mailtos://ops:{password}@mail.acme.test"\n'
    ))  # fmt: skip
    lines = (tmp_path / "crosspost.toml").read_text().splitlines()
    (tmp_path / "crosspost.toml").write_text(
        "\n".join(line for line in lines if "mailtos" not in line and "bogus" not in line)
    )
    code, out = check(config, capsys)
    assert "[alerts.targets.none] error: target none has no url" in out and code == 1
    assert "alerts.chat" not in out and "alerts.mail" not in out
    for secret in (password, token):
        for shown in (secret, base64.b64encode(secret.encode()).decode()):
            assert shown not in out


def test_a_metrics_address_in_use_is_named(make_site, tmp_path: Path, capsys) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = (
            make_site(extra="")
            .read_text()
            .replace(
                'secrets = "secrets.toml"\n',
                f'secrets = "secrets.toml"\nmetrics = "127.0.0.1:{port}"\n',
            )
        )
        (tmp_path / "crosspost.toml").write_text(config)
        code, out = check(tmp_path / "crosspost.toml", capsys)
    line = config.splitlines().index(f'metrics = "127.0.0.1:{port}"') + 1
    assert code == 1
    assert f"crosspost.toml:{line}: [daemon.metrics] error: the daemon cannot serve metrics" in out
    assert "choose a free port" in out
    (tmp_path / "crosspost.toml").write_text(config.replace(f"127.0.0.1:{port}", "localhost:99999"))
    code, out = check(tmp_path / "crosspost.toml", capsys)
    assert code == 78 and "write HOST:PORT, like 127.0.0.1:9464" in out


def test_alerts_test_sends_to_each_target_and_says_which_failed(
    make_site,
    hook: HookServer,  # noqa: F811
    capsys,
) -> None:
    config = make_site(extra=(
        f'\n[alerts.targets.team]\nurl = "{hook.hook_url()}"\nevents = ["failed", "digest"]\n'
        '\n[alerts.targets.dead]\nurl = "json://127.0.0.1:9/hook"\n'
    ))  # fmt: skip
    assert main(["-c", str(config), "alerts", "test"]) == 1
    out = capsys.readouterr().out
    assert "team: sent" in out and "dead: NOT SENT: A Connection error occurred" in out
    [message] = hook.notifications()
    assert message["title"] == "crosspost: test alert"
    assert "This target receives: failed, digest." in message["message"]
