"""Where Meta fetches a calendar image from: Instagram and Threads take no upload, they fetch
each image from a public URL. A calendar image is a local file, so the account says where
the same files are served: an image at ``{media_root}/img/bread.jpg`` is fetched from
``{media_base_url}/img/bread.jpg``. Shared by crosspost-facebook (Instagram) and
crosspost-threads."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from crosspost.adapter import Image, PermanentError


def public_url(image: Image, media_base_url: str, media_root: Path, network: str) -> str:
    """The image's public URL: media_base_url + its path under media_root."""
    if not media_base_url:
        raise PermanentError(
            f"set media_base_url on the {network} account: {network} fetches images from a "
            "public URL and cannot take a local file"
        )
    try:
        relative = image.path.resolve().relative_to(media_root).as_posix()
    except ValueError:
        raise PermanentError(
            f"{image.path} is not under media_root ({media_root}), so it has no "
            "public URL; move it there or change media_root"
        ) from None
    return media_base_url.rstrip("/") + "/" + quote(relative)
