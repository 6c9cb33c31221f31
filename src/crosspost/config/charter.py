"""The editorial charter: what the company never publishes, as rules people can read.

Written in crosspost.toml as ``[[charter.rules]]``, or in a file of its own named by
``[charter] file`` (its tables are ``[[rules]]``), so the person in charge can own it the
way each team member owns a calendar file. A rule has a name, a pattern (a word, a phrase,
or a ``/regular expression/``), the reason a person reads when it hits, a severity
(``error`` holds the post, ``warning`` informs) and an optional scope.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from crosspost.config.problems import ConfigError, LineFinder, Problem, explain, read_toml

if TYPE_CHECKING:
    from crosspost.config.settings import Config


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CharterRule(_Strict):
    name: str = Field(min_length=1)
    pattern: str = Field(min_length=1)  # word, phrase, or /regex/
    reason: str = Field(min_length=1)
    severity: Literal["error", "warning"] = "error"
    accounts: list[str] = Field(default_factory=list)  # empty: every account
    networks: list[str] = Field(default_factory=list)
    sources: list[Literal["calendar", "feed"]] = Field(default_factory=list)


class CharterSettings(_Strict):
    file: str = ""  # the rules in a file of their own (relative to the config)
    rules: list[CharterRule] = Field(default_factory=list)


class _CharterFile(_Strict):
    rules: list[CharterRule] = Field(default_factory=list)


def charter_rules(config: Config) -> tuple[list[tuple[CharterRule, Problem]], list[Problem]]:
    """Every rule, each with where it is written (for problems at its line), and what is
    wrong: a file that cannot be read, a key unknown, a scope naming no account."""
    where = [(rule, config.problem("charter.rules", n, "pattern", ""))
             for n, rule in enumerate(config.charter.rules)]  # fmt: skip
    problems: list[Problem] = []
    if config.charter.file:
        path = config.resolve(config.charter.file)
        try:
            where += _from_file(path)
        except ConfigError as exc:
            problems += exc.problems
    for rule, at in where:
        for account in rule.accounts:
            if account not in config.accounts:
                message = (f"charter rule {rule.name!r} names unknown account {account!r}; "
                           f"accounts: {', '.join(sorted(config.accounts))}")  # fmt: skip
                problems.append(Problem(at.file, at.line, at.key.replace("pattern", "accounts"),
                                        message))  # fmt: skip
    return where, problems


def _from_file(path: Path) -> list[tuple[CharterRule, Problem]]:
    data, text = read_toml(path)
    lines = LineFinder(text)
    try:
        parsed = _CharterFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_problem(path, lines, err) for err in exc.errors()]) from exc
    return [(rule, Problem(str(path), lines.key_line("rules", n, "pattern"), "rules.pattern", ""))
            for n, rule in enumerate(parsed.rules)]  # fmt: skip


def _problem(path: Path, lines: LineFinder, err: Any) -> Problem:
    loc = [str(part) for part in err["loc"]]
    index = int(loc[1]) if len(loc) > 1 and loc[1].isdigit() else 0
    key = loc[2] if len(loc) > 2 else ""
    message = explain(err, list(CharterRule.model_fields), key=key)
    return Problem(str(path), lines.key_line("rules", index, key), ".".join(loc), message)
