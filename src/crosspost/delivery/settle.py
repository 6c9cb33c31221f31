"""Asking the network whether a post it may have received is there.

After an unknown outcome (the answer was lost, or the daemon died while publishing), the
adapter's `reconcile` looks for the post. Its answer has three values, and the daemon needs
all three: found (the delivery is sent, with the network's id and URL), certainly not there
(it is sent again, the network asked once more just before), or no answer at all (the
network cannot be asked, or the adapter cannot look: a person decides, `in_doubt`).
"""

from __future__ import annotations

from dataclasses import dataclass

from crosspost import logs
from crosspost.adapter import Adapter, OutgoingPost, Receipt, Reconciles
from crosspost.logs import REDACTOR

log = logs.get("crosspost.settle")


@dataclass(frozen=True)
class Lookup:
    found: Receipt | None
    asked: bool  # the network answered the question, whether or not the post was there


def look_up(adapter: Adapter | None, outgoing: OutgoingPost, key: str) -> Lookup:
    if not isinstance(adapter, Reconciles):
        return Lookup(None, False)
    try:
        return Lookup(adapter.reconcile(outgoing, key), True)
    except Exception as exc:  # a failed search says nothing either way
        log.warning("reconcile failed", key=key, reason=REDACTOR.scrub(str(exc)))
        return Lookup(None, False)
