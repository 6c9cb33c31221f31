"""Images named in a calendar are untrusted: only real images, from allowed folders, capped."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from crosspost import store
from crosspost.render.textrules import TextRules, post_problem
from crosspost.service.assembly import load_setup
from crosspost.service.runtime import Runtime
from crosspost.sources.media import Image, MediaError

JPEG = b"\xff\xd8\xff\xe0" + b"\0" * 64
PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 64


def _entry(path: str, post_id: str = "p1", at: str = "2026-03-02T09:00:00Z") -> str:
    return (
        f'[[post]]\nid = "{post_id}"\nat = {at}\naccounts = ["box"]\ntext = "Look"\n'
        f'images = [{{ path = "{path}", alt = "x" }}]\n'
    )


def _problems(make_site, calendar: str, **kwargs: str) -> list[str]:
    return [str(p) for p in load_setup(make_site(calendar, **kwargs)).problems]


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../../../../etc/passwd", "outside the allowed folders"),
        ("/etc/passwd", "outside the allowed folders"),
        ("secrets.toml", "is not a JPEG, PNG, GIF or WebP image"),
        ("/dev/zero", "outside the allowed folders"),
        ("/proc/self/environ", "outside the allowed folders"),
    ],
)
def test_files_that_are_not_images_of_the_calendar_are_refused(make_site, path, why) -> None:
    [problem] = _problems(make_site, _entry(path))
    assert ":6: [post.images] error:" in problem and why in problem


def test_a_symlink_is_judged_by_where_it_leads(make_site, tmp_path: Path) -> None:
    outside = tmp_path.parent / f"{tmp_path.name}-outside.jpg"
    outside.write_bytes(JPEG)
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "leak.jpg").symlink_to(outside)
    (tmp_path / "img" / "real.jpg").write_bytes(JPEG)
    (tmp_path / "img" / "alias.jpg").symlink_to(tmp_path / "img" / "real.jpg")
    (tmp_path / "img" / "loop.jpg").symlink_to(tmp_path / "img" / "loop.jpg")
    calendar = _entry("img/leak.jpg") + _entry("img/alias.jpg", "p2") + _entry("img/loop.jpg", "p3")
    setup = load_setup(make_site(calendar))
    problems = [str(p) for p in setup.problems]
    assert list(setup.calendar.posts) == ["p2"]
    assert "outside the allowed folders" in problems[0]
    assert "symlink loop" in problems[1]
    [image] = setup.calendar.posts["p2"].images
    assert image.path == tmp_path / "img" / "real.jpg" and image.kind == "jpeg"


def test_media_dirs_allows_a_folder_outside_the_calendar_tree(make_site, tmp_path: Path) -> None:
    shared = tmp_path.parent / f"{tmp_path.name}-media"
    shared.mkdir()
    (shared / "logo.png").write_bytes(PNG)
    extra = ""
    calendar = _entry(str(shared / "logo.png"))
    assert "outside the allowed folders" in _problems(make_site, calendar)[0]
    path = make_site(calendar, extra=extra)
    path.write_text(path.read_text().replace("[daemon]", f'[daemon]\nmedia_dirs = ["{shared}"]'))
    setup = load_setup(path)
    assert setup.problems == [] and setup.calendar.posts["p1"].images[0].kind == "png"


def test_a_fifo_or_a_socket_named_as_an_image_never_blocks(make_site, tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.jpg")
    [problem] = _problems(make_site, _entry("pipe.jpg"))
    assert "is not a regular file" in problem


def test_a_huge_file_is_refused_without_reading_it(make_site, tmp_path: Path) -> None:
    with (tmp_path / "huge.jpg").open("wb") as handle:
        handle.write(JPEG)
        handle.truncate(2 * 1024**3)  # sparse: 2 GB that cost nothing on disk
    [problem] = _problems(make_site, _entry("huge.jpg"))
    assert "huge.jpg' is 2147 MB; images are limited to 52 MB" in problem


def test_reading_an_image_stops_at_the_cap_and_checks_it_again(tmp_path: Path) -> None:
    path = tmp_path / "a.jpg"
    path.write_bytes(JPEG + b"\0" * 5000)
    assert Image(path, "").read(10_000).startswith(JPEG)
    with pytest.raises(MediaError, match=r"larger than 0\.0 MB"):
        Image(path, "").read(1000)
    path.write_bytes(b"now a text file")  # changed since the calendar was loaded
    with pytest.raises(MediaError, match="no longer a JPEG"):
        Image(path, "").read()
    path.unlink()
    path.symlink_to(tmp_path / "elsewhere.jpg")
    (tmp_path / "elsewhere.jpg").write_bytes(JPEG)
    with pytest.raises(MediaError, match="cannot open"):  # swapped for a symlink: not followed
        Image(path, "").read()


def test_each_network_declares_the_image_types_and_sizes_it_takes(tmp_path: Path) -> None:
    only_jpeg = TextRules(limit=100, image_types=frozenset({"jpeg"}), max_image_bytes=1000)
    png = Image(tmp_path / "logo.png", "", "png", 10)
    big = Image(tmp_path / "big.jpg", "", "jpeg", 5000)
    assert "logo.png is a PNG image; the network takes JPEG" in str(
        post_problem(only_jpeg, ["x"], [png])
    )
    assert "big.jpg is 0.0 MB; the network takes images up to 0 MB" in str(
        post_problem(only_jpeg, ["x"], [big])
    )
    assert post_problem(only_jpeg, ["x"], [Image(tmp_path / "a.jpg", "", "jpeg", 10)]) is None


def test_a_refused_image_stops_only_its_own_post(make_site, clock, tmp_path: Path) -> None:
    (tmp_path / "ok.jpg").write_bytes(JPEG)
    calendar = _entry("../../../../etc/passwd", "leak") + _entry("ok.jpg", "good")
    runtime = Runtime(make_site(calendar), clock)
    clock.set(clock().replace(hour=9))
    runtime.tick(threading.Event())
    rows = store.deliveries(runtime.engine)
    assert [(r.post_id, r.status) for r in rows] == [("good", "sent")]
    [sent] = list((tmp_path / "var" / "outbox" / "box").iterdir())
    assert "passwd" not in sent.read_text() and "ok.jpg" in sent.read_text()
