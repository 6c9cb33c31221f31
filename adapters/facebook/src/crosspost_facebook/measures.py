"""Reading the numbers Graph keeps about published objects, for Pages, Instagram and Threads.

Graph answers several objects at once with ``GET /?ids=a,b&fields=…``, but the whole call
fails (error 100, "Some of the aliases you requested do not exist") when one of them was
deleted: then each is asked alone and the missing ones are left out. Insights need a
permission of their own (read_insights, instagram_manage_insights, threads_manage_insights):
without it their numbers stay missing and the counts still come.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from crosspost.adapter import PermanentError, PublishError, number
from crosspost_facebook.graph import GraphClient


def read_many(graph: GraphClient, ids: Sequence[str], fields: str) -> dict[str, dict[str, Any]]:
    """Each object that still exists, with `fields`."""
    try:
        body = graph.call("GET", "/", params={"ids": ",".join(ids), "fields": fields})
    except PermanentError as exc:
        if "do not exist" not in str(exc):
            raise
        found: dict[str, dict[str, Any]] = {}
        for one in ids if len(ids) > 1 else []:  # which one is gone: each alone
            found |= read_many(graph, [one], fields)
        return found
    return {key: value for key, value in body.items() if isinstance(value, dict)}


def insights(graph: GraphClient, object_id: str, metrics: str) -> dict[str, int | None]:
    """`/{id}/insights?metric=…` as name -> value; {} when Graph will not give them (no
    permission, a metric this object does not have), so those numbers stay missing."""
    try:
        body = graph.call("GET", f"/{object_id}/insights", params={"metric": metrics})
    except PublishError as exc:
        if isinstance(exc, PermanentError):
            return {}
        raise
    return values_of(body)


def values_of(body: dict[str, Any]) -> dict[str, int | None]:
    """Graph's insights list (`data: [{name, values: [{value}]}]`, or `total_value`)."""
    found: dict[str, int | None] = {}
    for metric in (body.get("data") or []) if isinstance(body, dict) else []:
        if not isinstance(metric, dict) or not metric.get("name"):
            continue
        values = metric.get("values") or []
        total = (metric.get("total_value") or {}).get("value")
        last = values[-1].get("value") if values and isinstance(values[-1], dict) else None
        found[str(metric["name"])] = number(total if total is not None else last)
    return found


def summary(node: Any) -> int | None:
    """A connection's `summary.total_count` (reactions, comments)."""
    if not isinstance(node, dict):
        return None
    return number((node.get("summary") or {}).get("total_count"))
