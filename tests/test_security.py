"""Config, secrets and CLI input are untrusted too: no imports, no escapes, no leaked secret."""

from __future__ import annotations

import base64
import io
import logging
import threading
from urllib.parse import quote

import pytest

from crosspost import logs, store
from crosspost.cli.main import main
from crosspost.service.runtime import Runtime

TOKEN = "s3cr3t-token-value"
DUE = '[[post]]\nid = "p"\nat = 2026-03-02T09:00:00Z\naccounts = ["box", "net"]\ntext = "Hi"\n'


@pytest.mark.parametrize("network", ["os:system", "subprocess:Popen", "../evil.py:X"])
def test_the_config_cannot_import_a_module_by_name(make_site, capsys, network) -> None:
    path = make_site("")
    path.write_text(path.read_text().replace('network = "testnet"', f'network = "{network}"'))
    assert main(["-c", str(path), "check"]) == 78
    err = capsys.readouterr().err
    assert "[accounts.net.network]" in err and "is not an adapter name" in err
    assert "[adapters] table" in err


def test_a_local_adapter_file_must_exist_and_be_python(make_site, tmp_path, capsys) -> None:
    path = make_site("")
    (tmp_path / "notes.txt").write_text("not python")
    path.write_text(path.read_text().replace("/netadapter.py:", "/nothere.py:", 1))
    assert main(["-c", str(path), "check"]) == 78
    assert "cannot load adapter 'testnet'" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "x y", ".hidden"])
def test_account_names_are_slugs(make_site, tmp_path, capsys, name) -> None:
    path = make_site("")
    path.write_text(path.read_text() + f'\n[accounts."{name}"]\nnetwork = "outbox"\n')
    assert main(["-c", str(path), "check"]) == 78
    assert "must be letters, digits, - and _" in capsys.readouterr().err
    assert not (tmp_path.parent / "escaped").exists()


def test_a_mistyped_value_is_never_echoed_whole(make_site, capsys) -> None:
    secretish = "fake-tok-9f8e7d6c5b4a39281706f5e4d3"
    path = make_site("")
    path.write_text(path.read_text().replace('timezone = "UTC"', f'timezone = "{secretish}"'))
    assert main(["-c", str(path), "check"]) == 78
    err = capsys.readouterr().err
    assert secretish not in err and "(35 characters)" in err
    assert "[daemon.timezone]" in err


def _capture_logs() -> io.StringIO:
    stream = io.StringIO()
    logs.configure("logfmt", "debug", stream)
    return stream


def test_every_encoding_of_a_secret_is_redacted(make_site, net, clock) -> None:
    net.default = (
        400,
        {},
        {
            "error": f"q={quote(TOKEN + '/x', safe='')} "
            f"basic={base64.b64encode(b'client:' + TOKEN.encode()).decode()} "
            f"url={base64.urlsafe_b64encode(TOKEN.encode()).decode()}"
        },
        0,
    )
    path = make_site(DUE, net_url=net.url)
    (path.parent / "secrets.toml").write_text(f'[accounts.net]\ntoken = "{TOKEN}\\n"\n')
    stream = _capture_logs()
    runtime = Runtime(path, clock)
    logging.getLogger("oauthlib.oauth1").debug("signing with %s", quote(TOKEN))
    clock.set(clock().replace(hour=9))
    runtime.tick(threading.Event())
    [row] = store.deliveries(runtime.engine, store.columns.account == "net")
    assert row.status == "failed"
    headers = {k.lower(): v for k, v in net.requests[0]["headers"].items()}
    assert headers["authorization"] == f"Bearer {TOKEN}"  # the trailing newline was trimmed
    shown = stream.getvalue() + (row.reason or "")
    for form in (
        TOKEN,
        quote(TOKEN),
        base64.b64encode(TOKEN.encode()).decode().rstrip("="),
        base64.urlsafe_b64encode(TOKEN.encode()).decode().rstrip("="),
        "bi12YWx1ZS",  # the middle of base64("client:" + token)
    ):
        assert form not in shown, form
    assert "[redacted]" in shown


def test_a_non_ascii_token_pauses_that_account_only(make_site, net, clock, capsys) -> None:
    path = make_site(DUE, net_url=net.url)
    (path.parent / "secrets.toml").write_text('[accounts.net]\ntoken = "s3cr3t\u2019token"\n')
    assert main(["-c", str(path), "check"]) == 1
    out = capsys.readouterr().out
    assert f"{path.parent / 'secrets.toml'}:2: [accounts.net.token] error:" in out
    assert "not printable ASCII at position 7" in out and "\u2019" not in out
    stream = _capture_logs()
    runtime = Runtime(path, clock)
    clock.set(clock().replace(hour=9))
    runtime.tick(threading.Event())
    rows = {r.account: r.status for r in store.deliveries(runtime.engine)}
    assert rows == {"box": "sent", "net": "queued"}  # waits, paused, for a fixed token
    assert net.requests == []
    assert "account paused" in stream.getvalue()
    (path.parent / "secrets.toml").write_text(f'[accounts.net]\ntoken = "{TOKEN}"\n')
    runtime.reload()
    runtime.tick(threading.Event())
    assert {r.account: r.status for r in store.deliveries(runtime.engine)}["net"] == "sent"


def test_check_works_without_the_secrets_file(make_site, net, capsys) -> None:
    path = make_site(DUE, net_url=net.url)
    (path.parent / "secrets.toml").unlink()
    assert main(["-c", str(path), "check"]) == 0
    out = capsys.readouterr().out
    assert "note: testnet: no token for 'net'" in out and "secrets file not found" in out
    assert "0 error(s)" in out
    assert main(["-c", str(path), "check", "--online"]) == 1
    assert "FAILED: AuthError: testnet: no token for 'net'" in capsys.readouterr().out


def test_a_link_with_a_line_break_is_refused(make_site) -> None:
    from crosspost.service.assembly import load_setup

    calendar = DUE + 'link = "https://ok.example/a\\nX-Injected: 1"\n'
    [problem] = load_setup(make_site(calendar)).problems
    assert ":6: [post.link] error:" in str(problem) and "no spaces or line breaks" in str(problem)


def test_resolve_sent_takes_only_http_addresses(make_site, net, clock, capsys) -> None:
    runtime = Runtime(make_site(DUE, net_url=net.url), clock)
    net.script = [(200, {}, None, 5.0)]
    store.insert_new(
        runtime.engine,
        [
            {
                "key": "k",
                "post_id": "p",
                "occurrence": "once",
                "account": "net",
                "due_at": clock(),
                "next_attempt_at": clock(),
                "status": "in_doubt",
                "updated_at": clock(),
            }
        ],
    )
    config = str(runtime.path)
    assert main(["-c", config, "resolve", "1", "--sent", "javascript:alert(1)"]) == 2
    assert "takes the post's http(s) address" in capsys.readouterr().err
    assert main(["-c", config, "resolve", "1", "--sent", "https://x.example/1"]) == 0
