"""Images named in a calendar: where they may come from, what they must be, how they are read.

A calendar is edited by several people, and an image path is a request to publish a file.
Without limits, `images = [{ path = "../../etc/crosspost/secrets.toml" }]` would post the
tokens as a "photo". So an image is accepted only when, after resolving symlinks, it lies
inside the calendar file's own folder tree or inside a folder listed in
``[daemon] media_dirs``; it must be a regular file (not /dev/zero, a FIFO or a socket) whose
first bytes say JPEG, PNG, GIF or WebP, whatever its name says; and it is read within a size
cap, so a 2 GB file is refused rather than loaded. Each network's own type and size limits
are checked before sending (`textrules.post_problem`).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from crosspost.errors import ConfigurationError

MAX_IMAGE_BYTES = 50 * 1024 * 1024  # above any network's limit
_FORBIDDEN = (Path("/dev"), Path("/proc"), Path("/sys"), Path("/run"))


class MediaError(ConfigurationError, ValueError):
    """The image cannot be used; the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Image:
    """An image checked at load: its resolved path, alt text, type and size."""

    path: Path
    alt: str
    kind: str = ""  # "jpeg", "png", "gif" or "webp", from the file's first bytes
    size: int = 0

    def read(self, max_bytes: int = MAX_IMAGE_BYTES) -> bytes:
        """The file's bytes, checked again (it may have changed since it was loaded)."""
        data = _read_capped(self.path, max_bytes)
        kind = sniff(data[:16])
        if kind is None:
            raise MediaError(f"{self.path.name} is no longer a JPEG, PNG, GIF or WebP image")
        return data


def sniff(head: bytes) -> str | None:
    """The image type its first bytes announce, or None."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    return None


def inspect_image(written: str, alt: str, base: Path, roots: Iterable[Path]) -> Image:
    """Check an image path from a calendar file in `base`; raise MediaError saying why not."""
    candidate = base / written
    try:
        resolved = candidate.resolve(strict=True)
    except FileNotFoundError:
        raise MediaError(
            f"image not found: {candidate}; paths are relative to the calendar file"
        ) from None
    except (OSError, RuntimeError) as exc:  # a symlink loop, a permission problem
        raise MediaError(f"cannot open image {written!r}: {_why(exc)}") from None
    allowed = [base.resolve(), *(root.resolve() for root in roots)]
    if any(resolved.is_relative_to(f) for f in _FORBIDDEN) or not any(
        resolved.is_relative_to(root) for root in allowed
    ):
        raise MediaError(
            f"image {written!r} is outside the allowed folders (the calendar's folder "
            f"{allowed[0]} and [daemon] media_dirs); move it there or add its folder to "
            "media_dirs"
        )
    try:
        info = os.stat(resolved)
    except OSError as exc:
        raise MediaError(f"cannot open image {written!r}: {_why(exc)}") from None
    if not stat.S_ISREG(info.st_mode):
        raise MediaError(f"image {written!r} is not a regular file")
    if info.st_size > MAX_IMAGE_BYTES:
        raise MediaError(
            f"image {written!r} is {info.st_size / 1e6:.0f} MB; "
            f"images are limited to {MAX_IMAGE_BYTES / 1e6:.0f} MB"
        )
    kind = sniff(_read_capped(resolved, 16, exact=False))
    if kind is None:
        raise MediaError(
            f"{written!r} is not a JPEG, PNG, GIF or WebP image (whatever its name says)"
        )
    return Image(resolved, alt, kind, info.st_size)


def _read_capped(path: Path, max_bytes: int, exact: bool = True) -> bytes:
    """Read at most `max_bytes` from a regular file, never following a final symlink and
    never blocking on a FIFO; more than `max_bytes` is an error when `exact`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise MediaError(f"cannot open image {path.name}: {_why(exc)}") from None
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
            raise MediaError(f"image {path.name} is not a regular file")
        data = handle.read(max_bytes + 1)
    if exact and len(data) > max_bytes:
        raise MediaError(f"{path.name} is larger than {max_bytes / 1e6:.1f} MB")
    return data[:max_bytes]


def _why(exc: BaseException) -> str:
    if isinstance(exc, RuntimeError) or getattr(exc, "errno", None) == 40:  # ELOOP
        return "symlink loop"
    return getattr(exc, "strerror", None) or str(exc)
