"""Voices: one template per account style (corporate, casual, short), rendered safely.

Templates come from the config file; post text comes from the calendar or a feed and is
*data*: it is passed to the template as a value, never compiled, so a `{{` in a blog title
cannot run anything. The environment is sandboxed, strict (a template that names an unknown
variable is an error at `check`, not an empty string live) and bounded (`sandbox`): a
template that fails on one post's data fails that delivery, with the reason.

The rendered text is tidied (no trailing spaces, no double spaces, at most one blank line),
so a voice written for posts with a link reads cleanly on a post without one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import regex
from jinja2 import Template, TemplateError, meta

from crosspost.config.settings import VoiceSettings
from crosspost.errors import RenderError
from crosspost.render.sandbox import BoundedEnvironment, render_bounded
from crosspost.render.textrules import URL

_ENV = BoundedEnvironment()
_SENTINEL = "\ue000crosspost-text\ue001"  # private-use characters: never in a real post
_SPACES = regex.compile(r"(?<=\S) {2,}(?=\S)")
_BLANK_LINES = regex.compile(r"\n{3,}")


@dataclass(frozen=True)
class Author:
    """Who signs a post, as a template sees it: ``{{ author }}`` is the display name,
    ``{{ author.signature }}`` the signature ("— Camille, gérante"), ``{{ author.role }}``."""

    name: str = ""
    role: str = ""
    signature: str = ""

    def __str__(self) -> str:
        return self.name

    def __bool__(self) -> bool:
        return bool(self.name)


def author_named(name: str, role: str = "", signature: str = "") -> Author:
    """An author with the signature people expect when none is written."""
    if not name:
        return Author()
    return Author(name, role, signature or f"— {name}" + (f", {role}" if role else ""))


SAMPLE = {
    "text": "Sample text",
    "title": "Sample title",
    "link": "https://example.com/a",
    "author": Author("Sample Author", "role", "— Sample Author, role"),
    "signature": "",
    "hashtags": "#sample",
    "tags": ["sample"],
    "account": "account",
    "network": "network",
    "post_id": "sample",
    "summary": "",
    "categories": [],
    "image": "",
    "feed": "",
    "published": "",
    "category_hashtags": "",
}


@dataclass(frozen=True)
class Content:
    """What a voice renders: one calendar post or feed item, before any account's voice."""

    text: str
    title: str = ""
    link: str = ""
    author: Author = Author()
    post_id: str = ""
    extra: tuple[tuple[str, Any], ...] = ()


class VoiceError(RenderError, ValueError):
    pass


@lru_cache(maxsize=256)
def compile_template(source: str) -> Template:
    try:
        return _ENV.from_string(source)
    except TemplateError as exc:
        raise VoiceError(
            f"template syntax error at template line {getattr(exc, 'lineno', '?')}: {exc.message}"
        ) from exc
    except RecursionError:
        raise VoiceError("template nested too deeply") from None


def validate_voice(voice: VoiceSettings) -> None:
    """Compile and render with sample values, so unknown names fail at load, not at 9:00."""
    try:
        render_bounded(compile_template(voice.template), SAMPLE)
    except TemplateError as exc:
        raise VoiceError(
            f"{exc.message}; variables available: {', '.join(sorted(SAMPLE))}"
        ) from exc
    except Exception as exc:
        raise VoiceError(f"template error: {type(exc).__name__}: {exc}") from exc


def render(voice: VoiceSettings, content: Content, account: str, network: str) -> str:
    """The whole post as the voice writes it, tidied."""
    return _render(voice, _values(voice, content, account, network))


def render_parts(
    voice: VoiceSettings, content: Content, account: str, network: str
) -> tuple[str, str, str] | None:
    """(head, body, tail): what the voice writes before and after the post's own text.

    Fitting shortens or splits only the body, so a signature, the hashtags and a link that
    the voice adds are never what gets cut. None when the template does not show the text
    exactly once, as it is (a filter on it, say): then the whole post is fitted.
    """
    values = _values(voice, content, account, network)
    whole = _render(voice, values)
    marked = _render(voice, {**values, "text": _SENTINEL})
    if marked.count(_SENTINEL) != 1:
        return None
    head, tail = marked.split(_SENTINEL)
    if not (whole.startswith(head) and whole.endswith(tail)) or len(whole) < len(head + tail):
        return None
    return head, whole[len(head) : len(whole) - len(tail)], tail


def tidy(text: str) -> str:
    """No trailing spaces, no double spaces between words, at most one blank line."""
    if "  " not in text and " \n" not in text and "\n\n\n" not in text:
        return text.strip()  # most posts: nothing to tidy
    lines = [_SPACES.sub(" ", line.rstrip()) for line in text.split("\n")]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _render(voice: VoiceSettings, values: dict[str, Any]) -> str:
    template = compile_template(voice.template)
    try:
        return tidy(render_bounded(template, values))
    except TemplateError as exc:
        raise VoiceError(f"template error: {exc.message}") from exc
    except Exception as exc:  # a filter that fails on this post's data, say
        raise VoiceError(f"template error: {type(exc).__name__}: {exc}") from exc


def _values(voice: VoiceSettings, content: Content, account: str, network: str) -> dict[str, Any]:
    tags = [tag.lstrip("#").replace(" ", "") for tag in voice.hashtags]
    return {
        **SAMPLE,
        "text": tag_links(content.text, voice.utm),
        "title": content.title,
        "link": tag_link(content.link, voice.utm) if content.link else "",
        "author": content.author,
        "signature": voice.signature,
        "hashtags": " ".join(f"#{tag}" for tag in tags if tag),
        "tags": tags,
        "account": account,
        "network": network,
        "post_id": content.post_id,
        **dict(content.extra),
    }


@lru_cache(maxsize=256)
def names_used(source: str) -> frozenset[str]:
    """The variables a template names."""
    return frozenset(meta.find_undeclared_variables(_ENV.parse(source)))


def depends_on_account(voice: VoiceSettings) -> bool:
    """Whether the template names the account or network: if not, every account sharing
    this voice gets the same text for a post, and `check` renders it once."""
    return bool({"account", "network"} & names_used(voice.template))


def tag_link(url: str, utm: dict[str, str]) -> str:
    """Add the voice's query parameters, keeping any the link already has."""
    return _tag_link(url, tuple(utm.items())) if utm else url


@lru_cache(maxsize=4096)
def _tag_link(url: str, utm: tuple[tuple[str, str], ...]) -> str:
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    present = {name for name, _ in query}
    query += [(name, value) for name, value in utm if name not in present]
    return urlunsplit(parts._replace(query=urlencode(query)))


def tag_links(text: str, utm: dict[str, str]) -> str:
    return URL.sub(lambda match: tag_link(match.group(), utm), text) if utm else text
