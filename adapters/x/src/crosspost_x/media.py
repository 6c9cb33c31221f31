"""Images through X's v2 media upload, which tweepy 4.17 does not have (it only has v1.1's).

Per X's API reference (docs.x.com, "Media upload" and "Create Media metadata"):

* ``POST /2/media/upload``: multipart/form-data with the raw bytes in ``media`` and
  ``media_category=tweet_image``; answers ``{"data": {"id": "…", "media_key": "…"}}``.
  This one-request form takes images up to 5 MB; videos would need the chunked form.
* ``POST /2/media/metadata``: JSON ``{"id": "…", "metadata": {"alt_text": {"text": "…"}}}``,
  alt text up to 1,000 characters.

Both go through the tweepy client's session, so they get the same host routing, timeout and
credentials (OAuth 1.0a signature or OAuth 2.0 bearer) as the tweet itself.
"""

from __future__ import annotations

import mimetypes
from typing import Any

import requests
import tweepy

from crosspost.adapter import Image, MediaError, PermanentError

UPLOAD_URL = "https://api.x.com/2/media/upload"
METADATA_URL = "https://api.x.com/2/media/metadata"
MAX_IMAGE_BYTES = 5 * 1024 * 1024
MAX_ALT_TEXT = 1000


def upload_image(client: tweepy.Client, auth: Any, headers: dict[str, str], image: Image) -> str:
    """Upload one image and set its alt text; returns the media id for `create_tweet`."""
    try:
        data = image.read(MAX_IMAGE_BYTES)  # read within the cap, never the whole of a huge file
    except MediaError as exc:
        raise PermanentError(f"{exc}; X takes images up to 5 MB") from exc
    mime = mimetypes.guess_type(image.path.name)[0] or "application/octet-stream"
    response = client.session.post(
        UPLOAD_URL,
        data={"media_category": "tweet_image"},
        files={"media": (image.path.name, data, mime)},
        auth=auth,
        headers=headers,
    )
    body = _checked(response)
    media_id = str((body.get("data") or {}).get("id") or "")
    if not media_id:
        raise PermanentError(f"X's media upload answered without a media id: {body!r:.200}")
    if image.alt:
        _checked(
            client.session.post(
                METADATA_URL,
                json={"id": media_id, "metadata": {"alt_text": {"text": image.alt[:MAX_ALT_TEXT]}}},
                auth=auth,
                headers=headers,
            )
        )
    return media_id


def _checked(response: requests.Response) -> dict[str, Any]:
    """The JSON body, or tweepy's exception for the status (so one `classify` serves all)."""
    status = response.status_code
    errors: dict[int, type[tweepy.HTTPException]] = {
        400: tweepy.BadRequest,
        401: tweepy.Unauthorized,
        403: tweepy.Forbidden,
        404: tweepy.NotFound,
    }
    if status in errors:
        raise errors[status](response)
    if status == 429:
        reset = response.headers.get("x-rate-limit-reset")
        raise tweepy.TooManyRequests(response, reset_time=int(reset) if reset else None)
    if status >= 500:
        raise tweepy.TwitterServerError(response)
    if not 200 <= status < 300:
        raise tweepy.HTTPException(response)
    try:
        body: dict[str, Any] = response.json()
    except ValueError:
        body = {}
    return body
