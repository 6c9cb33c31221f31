"""`crosspost auth ACCOUNT`: walk a person through getting the account's token.

The network's flow (in its adapter) builds the authorization URL and exchanges the code; this
module talks to the person and writes the secrets file (see `crosspost.oauth`). Nothing here
prints a token: only the names of the keys written and when they expire.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from crosspost.adapter import AdapterConfigError, Authorizes, PublishError, account_for
from crosspost.config.secrets import load_secrets
from crosspost.config.settings import load_config
from crosspost.oauth import AuthAborted, OAuthFlow, code_from_answer, new_state, save_tokens
from crosspost.registry import AdapterNotInstalled, find_adapter

PROMPT = "Paste the address your browser was sent to (or just the code): "


def run_auth(
    config_path: Path,
    account: str,
    redirect_uri: str,
    secrets_path: Path | None,
    ask: Callable[[str], str] = input,
) -> int:
    config = load_config(config_path)
    if account not in config.accounts:
        known = ", ".join(sorted(config.accounts)) or "none"
        return _fail(f"no account {account!r} in {config.path}; accounts: {known}")
    settings = config.accounts[account]
    try:
        factory = find_adapter(settings.network, config.adapters, config.base_dir)
    except AdapterNotInstalled as exc:
        return _fail(str(exc))
    if not isinstance(factory, Authorizes):
        return _fail(
            f"the {settings.network} network has no guided authorization; "
            "its README says how to get a token"
        )
    path = secrets_path or config.secrets_path() or config.base_dir / "secrets.toml"
    creds = config.credentials_dir
    if creds and path.resolve().is_relative_to(Path(creds).resolve()):
        return _fail(
            f"{path} is a systemd credential (read-only); pass the real file: "
            "--secrets /etc/crosspost/secrets.toml"
        )
    current = load_secrets(path)[0].get(account, {}) if path.exists() else {}
    try:
        flow: OAuthFlow = factory.oauth_flow(
            account_for(
                factory, account, settings.adapter_keys, current, config.base_dir, config.state_dir
            )
        )
    except AdapterConfigError as exc:
        return _fail(f"{exc} (file: {path})")
    state = new_state()
    print(flow.instructions, end="\n\n")
    print(f"Redirect URI (register it with the app exactly as written): {redirect_uri}\n")
    print("1. Open this address in a browser logged in as the account, and approve:\n")
    print("   " + flow.authorization_url(redirect_uri, state) + "\n")
    print(
        "2. The browser is then sent to the redirect URI; the page may fail to load, "
        "which is fine.\n"
    )
    try:
        code = code_from_answer(ask(PROMPT), state)
        tokens = flow.exchange(code, redirect_uri)
    except (AuthAborted, PublishError) as exc:
        return _fail(str(exc))
    except (EOFError, KeyboardInterrupt):
        return _fail("stopped; nothing was written")
    save_tokens(path, account, tokens)
    print(f"\nSaved {', '.join(sorted(tokens.secrets))} for {account} in {path} (mode 0600).")
    for key, when in sorted(tokens.expires_at.items()):
        print(
            f"{key} expires on {when:%Y-%m-%d %H:%M} UTC; "
            "`crosspost check` warns 7 days before. Run this command again then."
        )
    if not config.daemon.secrets and not creds:
        print(f'Add secrets = "{path.name}" to [daemon] in {config.path.name} to use it.')
    print("If the daemon runs, reload it: systemctl reload crosspost")
    return 0


def _fail(message: str) -> int:
    print(f"crosspost auth: {message}", file=sys.stderr)
    return 1
