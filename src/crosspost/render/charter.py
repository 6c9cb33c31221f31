"""Checking a rendered text against the editorial charter (see `config.charter`).

Matching is case- and accent-insensitive, on the text each account actually gets: "Globex",
"GLOBEX" and "Glöbex" all hit the rule "globex", and "gratuit" hits "GRATUIT" and
"gratuité" does not (a word matches whole words only). A /regular expression/ is matched
the same way (accents removed, case ignored), with a time limit, so a rule can never hang
a publish. The words reported are the text's own, as the person wrote them.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import regex

from crosspost.config.charter import CharterRule
from crosspost.config.problems import Problem

MATCH_TIMEOUT = 0.5  # seconds for one rule on one text


@dataclass(frozen=True)
class Hit:
    rule: CharterRule
    words: tuple[str, ...]  # what matched, as written in the text

    def describe(self) -> str:
        matched = ", ".join(repr(w) for w in self.words)
        return f"charter rule {self.rule.name!r}: {self.rule.reason} (matched {matched})"


@dataclass(frozen=True)
class _Compiled:
    rule: CharterRule
    pattern: regex.Pattern[str]


class Charter:
    def __init__(self, rules: list[CharterRule]) -> None:
        self.rules = [_Compiled(rule, compile_rule(rule)) for rule in rules]

    def __bool__(self) -> bool:
        return bool(self.rules)

    def hits(self, text: str, account: str, network: str, source: str) -> list[Hit]:
        """The rules this text breaks for this account, network and source."""
        if not self.rules:
            return []
        folded, origin = fold(text)
        found = []
        for compiled in self.rules:
            rule = compiled.rule
            if (rule.accounts and account not in rule.accounts) or (
                rule.networks and network not in rule.networks
            ):
                continue
            if rule.sources and source not in rule.sources:
                continue
            try:
                matches = list(compiled.pattern.finditer(folded, timeout=MATCH_TIMEOUT))
            except TimeoutError:
                found.append(Hit(rule, ("(the rule took too long on this text: simplify it)",)))
                continue
            words = [text[origin[m.start()] : origin[m.end() - 1] + 1] for m in matches if m.end()]
            if words:
                found.append(Hit(rule, tuple(dict.fromkeys(words))))
        return found

    def blocking(self, text: str, account: str, network: str, source: str) -> list[Hit]:
        return [h for h in self.hits(text, account, network, source) if h.rule.severity == "error"]


def compile_rule(rule: CharterRule) -> regex.Pattern[str]:
    """The rule as a regular expression over folded text; regex.error for a bad /regex/."""
    pattern = rule.pattern.strip()
    if len(pattern) > 2 and pattern.startswith("/") and pattern.endswith("/"):
        body = strip_accents(pattern[1:-1])
    else:
        words = [regex.escape(fold(word)[0]) for word in pattern.split()]
        body = r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)"
    return regex.compile(body, regex.IGNORECASE | regex.V0)


def rule_problems(rules: list[tuple[CharterRule, Problem]]) -> list[Problem]:
    """A /regex/ that does not compile: an error at the line of its pattern."""
    problems = []
    for rule, at in rules:
        try:
            compile_rule(rule)
        except regex.error as exc:
            message = (f"charter rule {rule.name!r}: invalid regular expression: {exc}; "
                       "write a word or phrase, or fix the /regex/")  # fmt: skip
            problems.append(Problem(at.file, at.line, at.key, message))
    return problems


def strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def fold(text: str) -> tuple[str, list[int]]:
    """The text without accents and case, and for each of its characters the index of the
    character of `text` it comes from (to quote the text's own words)."""
    out: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for part in strip_accents(char).casefold():
            out.append(part)
            origin.append(index)
    return "".join(out), origin
