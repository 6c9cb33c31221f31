"""Bluesky's limits, as the app.bsky.feed.post lexicon states them: `text` at most 300
graphemes and 3,000 UTF-8 bytes (links count in full: the text is what is stored; facets
only make them clickable), up to 4 images of at most 1,000,000 bytes each."""

from __future__ import annotations

from crosspost.adapter import TextRules

MAX_GRAPHEMES = 300
MAX_BYTES = 3000
MAX_IMAGES = 4
MAX_IMAGE_BYTES = 1_000_000  # app.bsky.embed.images: maxSize of each image blob

RULES = TextRules(
    limit=MAX_GRAPHEMES,
    counting="graphemes",
    max_bytes=MAX_BYTES,
    threads=True,
    max_images=MAX_IMAGES,
    image_types=frozenset({"jpeg", "png", "webp", "gif"}),
    max_image_bytes=MAX_IMAGE_BYTES,
)
