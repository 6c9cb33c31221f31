"""X's own counting, owned here (the core knows only characters and graphemes).

X counts a tweet's weighted length (twitter-text v3): code points in a few ranges weigh 1,
everything else 2 (CJK, most emoji), an emoji sequence weighs 2, and every URL weighs 23
whatever its length. twitter-text-parser implements it and passes the official conformance
cases; its regexes take 0.5 s to compile, so it is imported at the first exact count, and a
cheap upper bound answers first for the many posts far below the limit.

`RULES` is also registered under the ``crosspost.text_rules`` entry-point group, so an
outbox can count as X does (`counting = "x"`) without loading tweepy.
"""

from __future__ import annotations

import unicodedata

import regex

from crosspost.adapter import TextRules

# X weighs 1 for these ranges and 2 for everything else (twitter-text config v3).
_HEAVY = regex.compile("[^\u0000-\u10ff\u2000-\u200d\u2010-\u201f\u2032-\u2037]")
_URL_CANDIDATE = regex.compile(r"\S*\.[^\W\d_]\S*")  # a dot then a letter: maybe a URL


def weighted_length(text: str) -> int:
    """The length X counts for a tweet."""
    from twitter_text import parse_tweet

    return int(parse_tweet(unicodedata.normalize("NFC", text)).weightedLength)


def upper_bound(text: str) -> int:
    """A cheap bound that X's weighted length never exceeds.

    Every code point weighs its range weight, except that an emoji sequence weighs 2 (never
    more than its code points, but © and ® weigh 1 alone and 2 as emoji) and a URL weighs 23
    (at most 23 more than its characters). Any token with a dot followed by a letter might be
    a URL.
    """
    text = unicodedata.normalize("NFC", text)
    weight = len(text) + len(_HEAVY.findall(text)) + text.count("©") + text.count("®")
    return weight + 23 * len(_URL_CANDIDATE.findall(text))


RULES = TextRules(  # twitter-text v3: weighted length, every URL 23
    limit=280,
    counting="X-weighted",
    counter=weighted_length,
    bound=upper_bound,
    threads=True,
    max_images=4,
    max_image_bytes=5 * 1024 * 1024,
    refused="\ufffe\ufeff\uffff",  # twitter-text's invalid characters
)
