"""LinkedIn's "little text" format, the format of a post's `commentary`.

Per LinkedIn's documentation (Posts API, "little Text Format"), the characters
``\\ | { } @ [ ] ( ) < > # * _ ~`` are reserved: every one of them must be backslash-escaped,
even outside an element. An unescaped one is not an error: LinkedIn answers 201 and keeps
the text only up to that character. So everything is escaped, URLs included (the ``_`` of
``utm_source`` would cut every post with a tagged link), and the two elements a post uses
keep their syntax with their inner text escaped:

* a hashtag becomes the HashtagTemplate ``{hashtag|\\#|value}``;
* a mention written as LinkedIn writes one, ``@[Acme Corp](urn:li:organization:1234)``,
  stays a MentionElement.

`to_plain` undoes the format, so that a post read back from LinkedIn can be compared with
what was sent, whichever of the equivalent forms LinkedIn returns.
"""

from __future__ import annotations

import re

from crosspost.adapter import URL

RESERVED = re.compile(r"([\\|{}@\[\]()<>#*_~])")
_HASHTAG = re.compile(r"(?<![\w#&])#(\w+)")
_MENTION = re.compile(r"@\[([^\[\]\n]{1,100})\]\((urn:li:(?:person|organization):[A-Za-z0-9_-]+)\)")
_LITTLE = re.compile(
    r"\{hashtag\|\\?[#＃]\|(?P<tag>(?:\\.|[^\\}])*)\}"
    r"|@\[(?P<name>(?:\\.|[^\\\]])*)\]\(urn:li:[a-z]+:[A-Za-z0-9_-]+\)"
    r"|\\(?P<char>.)",
    re.DOTALL,
)
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def escape(text: str) -> str:
    """Plain post text to little text: every reserved character escaped, hashtags and
    mentions kept as their elements."""
    out, last = [], 0
    for match in URL.finditer(text):
        out.append(_escape_words(text[last : match.start()]))
        out.append(_escape_plain(match.group()))  # a URL is text too: its _ ( ) ~ are escaped
        last = match.end()
    out.append(_escape_words(text[last:]))
    return "".join(out)


def _escape_plain(text: str) -> str:
    return RESERVED.sub(r"\\\1", text)


def _escape_words(text: str) -> str:
    pieces, last = [], 0
    for match in _elements(text):
        pieces.append(_escape_plain(text[last : match.start()]))
        if match.re is _MENTION:
            pieces.append(f"@[{_escape_plain(match.group(1))}]({match.group(2)})")
        else:
            pieces.append("{hashtag|\\#|" + _escape_plain(match.group(1)) + "}")
        last = match.end()
    pieces.append(_escape_plain(text[last:]))
    return "".join(pieces)


def _elements(text: str) -> list[re.Match[str]]:
    """Mentions, and hashtags outside them, in order."""
    mentions = list(_MENTION.finditer(text))
    taken = [(m.start(), m.end()) for m in mentions]
    hashtags = [m for m in _HASHTAG.finditer(text) if not any(a <= m.start() < b for a, b in taken)]
    return sorted([*mentions, *hashtags], key=lambda m: m.start())


def to_plain(little: str) -> str:
    """Little text back to what a reader sees: ``{hashtag|\\#|a\\_b}`` -> ``#a_b``."""

    def plain(match: re.Match[str]) -> str:
        if match.group("tag") is not None:
            return "#" + _ESCAPED.sub(r"\1", match.group("tag"))
        if match.group("name") is not None:
            return _ESCAPED.sub(r"\1", match.group("name"))
        return match.group("char")

    return _LITTLE.sub(plain, little)
