"""The first comment: checked against the network's comment rules when the post is composed.

The comment is the person's own words, sent as written: it is never cut or split. One that
does not fit the network fails the post before anything is published (`check` shows it at
`first_comment`), rather than publishing a post whose comment cannot follow. A network whose
adapter cannot comment publishes the post alone; `check` warns, and so does the log.
"""

from __future__ import annotations

from crosspost.adapter import Adapter, Comments
from crosspost.render.fitting import DoesNotFit
from crosspost.render.textrules import TextRules, post_problem

KEY = "first_comment"  # the calendar key `check` points at


class CommentDoesNotFit(DoesNotFit):
    """The first comment breaks the network's comment rules."""


def can_comment(adapter: Adapter) -> bool:
    return isinstance(adapter, Comments)


def comment_rules(adapter: Adapter) -> TextRules | None:
    """The network's rules for a comment, or None when its adapter cannot comment."""
    return adapter.comment_rules if isinstance(adapter, Comments) else None


def checked_comment(adapter: Adapter, text: str) -> str:
    """`text` (stripped), raising CommentDoesNotFit when the network would refuse it."""
    text = text.strip()
    if not text or not isinstance(adapter, Comments):
        return text
    rules = adapter.comment_rules
    if not rules.fits(text):
        raise CommentDoesNotFit(
            f"first comment is {rules.count(text)} for a limit of {rules.describe()} "
            f"on {adapter.network}; shorten it, or give this account its own with "
            "override.ACCOUNT.first_comment"
        )
    problem = post_problem(rules, [text], 0)
    if problem:
        raise CommentDoesNotFit(f"first comment: {problem}")
    return text


def cannot_comment(adapter: Adapter) -> str:
    """What `check` and the log say when the network takes no first comment."""
    return (
        f"the {adapter.network} adapter cannot add a first comment: the post is published "
        'without it (give this account override.ACCOUNT.first_comment = "" to say so)'
    )
