"""The adapter API is one module, pinned here: changing what adapters may import is a
decision made in this file. Discovery checks what it loads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import crosspost.adapter
from crosspost.registry import AdapterNotInstalled, find_adapter

API = {
    "HASHTAG", "MENTION", "URL",
    "Adapter", "AdapterClass", "Authorizes", "Idempotent", "Preflight", "Reconciles",
    "KeepsCredentials", "Comments", "Measures", "Engagement",
    "NeedsSecrets", "Account", "Needs", "construct", "account_for", "Pending",
    "Image", "OutgoingPost", "Profile", "Receipt", "TextRules", "ThreadProgress",
    "AdapterConfigError", "AuthError", "MediaError", "MissingSecret", "OutcomeUnknown",
    "PermanentError", "PublishError", "RateLimited", "TransientError",
    "OAuthFlow", "Tokens", "pkce_pair", "write_private",
    "keep_secret", "number", "profile_of", "require_secrets", "transport_error",
}  # fmt: skip


def test_the_public_names_are_pinned() -> None:
    assert set(crosspost.adapter.__all__) == API
    assert all(hasattr(crosspost.adapter, name) for name in API)


def test_importing_the_api_drags_in_no_config_calendar_feed_or_database() -> None:
    code = "import sys, crosspost.adapter; print(' '.join(sorted(sys.modules)))"
    loaded = set(subprocess.check_output([sys.executable, "-c", code], text=True).split())
    heavy = {
        "crosspost.config.settings",
        "crosspost.sources.calendar",
        "crosspost.sources.feeds",
        "crosspost.store",
    }
    heavy |= {"sqlalchemy", "sqlmodel", "jinja2", "feedparser", "apscheduler"}
    assert loaded & heavy == set()


def test_every_shipped_adapter_imports_only_the_api() -> None:
    root = Path(__file__).resolve().parents[1] / "adapters"
    for source in root.glob("*/src/**/*.py"):
        for number, line in enumerate(source.read_text().splitlines(), 1):
            words = line.split()
            if words[:1] in (["from"], ["import"]) and words[1].split(".")[0] == "crosspost":
                assert words[1] == "crosspost.adapter", f"{source}:{number}: {line.strip()}"


def _local(tmp_path: Path, code: str) -> dict[str, str]:
    (tmp_path / "mynet.py").write_text(code)
    return {"mynet": "mynet.py:MyNet"}


def test_a_class_that_says_another_network_is_refused(tmp_path: Path) -> None:
    code = (
        "from pydantic import BaseModel\n"
        "class MyNet:\n    network = 'x'\n    settings_model = BaseModel\n"
        "    def verify(self): ...\n    def publish(self): ...\n"
    )
    with pytest.raises(AdapterNotInstalled, match="says it is the 'x' network"):
        find_adapter("mynet", _local(tmp_path, code), tmp_path)


def test_an_object_that_is_not_an_adapter_is_refused(tmp_path: Path) -> None:
    with pytest.raises(AdapterNotInstalled, match=r"is not an adapter: .* has no publish"):
        code = "class MyNet:\n    network = 'mynet'\n    def verify(self): ...\n"
        find_adapter("mynet", _local(tmp_path, code), tmp_path)
    with pytest.raises(AdapterNotInstalled, match="has no verify or publish"):
        find_adapter("mynet", _local(tmp_path, "def MyNet(): ...\n"), tmp_path)


def _distribution(folder: Path, name: str, target: str) -> None:
    info = folder / f"{name}-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text(f"[crosspost.adapters]\nx = {target}\n")


def test_two_distributions_claiming_one_network_are_named(tmp_path: Path, monkeypatch) -> None:
    _distribution(tmp_path, "crosspost-x-fork", "crosspost_x_fork:XAdapter")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(AdapterNotInstalled, match=r"crosspost-x-fork.*uninstall all but one"):
        find_adapter("x")


def test_the_install_hint_names_the_distribution_that_ships_the_network(monkeypatch) -> None:
    from crosspost import registry

    monkeypatch.setattr(registry, "GROUP", "crosspost.nothing-installed")
    with pytest.raises(AdapterNotInstalled, match="pip install crosspost-facebook`"):
        find_adapter("instagram")
    with pytest.raises(AdapterNotInstalled, match="pip install crosspost-mastodon`"):
        find_adapter("mastodon")


def test_an_adapter_table_typo_gets_the_same_hint_as_the_config() -> None:
    from pydantic import BaseModel, ConfigDict

    from crosspost.adapter import AdapterConfigError, parse_settings

    class Settings(BaseModel):
        model_config = ConfigDict(extra="forbid")
        api_base_url: str = "https://api.example"
        timeout: float = 30.0

    with pytest.raises(AdapterConfigError, match="did you mean 'api_base_url'") as caught:
        parse_settings(Settings, {"api_base_ulr": "x"}, "mynet")
    assert caught.value.key == "api_base_ulr"
    with pytest.raises(AdapterConfigError, match=r"^mynet: timeout: Input should be"):
        parse_settings(Settings, {"timeout": "soon"}, "mynet")


def test_a_networks_text_rules_load_without_its_adapter() -> None:
    """An outbox counting as X does gets crosspost-x's rules, and not tweepy (8 MB)."""
    code = (
        "import sys; from crosspost.registry import find_text_rules;"
        "rules = find_text_rules('x'); print(rules.counting, rules.count('日本'),"
        "'tweepy' in sys.modules, 'requests' in sys.modules)"
    )
    shown = subprocess.check_output([sys.executable, "-c", code], text=True).split()
    assert shown == ["X-weighted", "4", "False", "False"]
    code = (
        "import sys; from crosspost.registry import find_text_rules;"
        "rules = find_text_rules('mastodon'); print(rules.limit, rules.count('@a@b.example'),"
        "'mastodon' in sys.modules, 'requests' in sys.modules)"
    )
    shown = subprocess.check_output([sys.executable, "-c", code], text=True).split()
    assert shown == ["500", "2", "False", "False"]  # Mastodon counts @user@domain as @user
    with pytest.raises(AdapterNotInstalled, match="pip install crosspost-pixelfed"):
        from crosspost.registry import find_text_rules

        find_text_rules("pixelfed")
