"""The gateway serves pages as nginx's try_files does, and nothing outside web/."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.gateway import WEB_ROOT, Refused, canonical_path, web_file


def test_pages_are_found_as_nginx_finds_them(tmp_path: Path) -> None:
    (tmp_path / "petugas").mkdir()
    for name in ("index.html", "lacak.html", "petugas/index.html", "petugas/kasus.html"):
        (tmp_path / name).write_text(name)
    assert web_file(tmp_path, "/") == tmp_path / "index.html"
    assert web_file(tmp_path, "/lacak") == tmp_path / "lacak.html"
    assert web_file(tmp_path, "/lacak.html") == tmp_path / "lacak.html"
    assert web_file(tmp_path, "/petugas") == tmp_path / "petugas" / "index.html"
    assert web_file(tmp_path, "/petugas/") == tmp_path / "petugas" / "index.html"
    assert web_file(tmp_path, "/petugas/kasus") == tmp_path / "petugas" / "kasus.html"
    assert web_file(tmp_path, "/tidak-ada") is None


@pytest.mark.parametrize("path", ["/../secret.txt", "/petugas/../../secret.txt", "/%2e%2e/x"])
def test_nothing_outside_the_web_root_is_served(tmp_path: Path, path: str) -> None:
    root = tmp_path / "web"
    root.mkdir()
    (tmp_path / "secret.txt").write_text("rahasia")
    assert web_file(root, path) is None


def test_every_page_the_site_links_to_exists() -> None:
    pages = ["/", "/formulir", "/lacak", "/survei", "/terima-kasih", "/petugas/masuk", "/dasbor"]
    pages += ["/rekap", "/operasi", "/petugas", "/petugas/kasus", "/petugas/catat", "/petugas/cari"]
    missing = [page for page in pages if web_file(WEB_ROOT, page) is None]
    assert missing == []


@pytest.mark.parametrize(
    "path", [b"/intake/v1/complaints", b"/workflow/v1/cases/", b"/reporting/v1/track/AB%20CD"]
)
def test_clean_paths_are_forwarded_as_they_are(path: bytes) -> None:
    assert canonical_path(path) == path.decode()


@pytest.mark.parametrize(
    "path",
    [
        b"/workflow/../internal",
        b"/workflow/./v1",
        b"/workflow/%2e%2e/internal",
        b"/workflow/.%2E/internal",
        b"/workflow/..%2finternal",
        b"/workflow%2Finternal",
        b"/workflow/..\\internal",
        b"/workflow/a%5cb",
        b"/workflow/%252e%252e/internal",
        b"/workflow/..;/internal",
        b"/workflow//internal",
        b"/workflow/a%00b",
        b"/workflow/a%0Ab",
        b"/workflow/a%7fb",
        b"/workflow/a\xc3\xa9",
        b"/workflow/a%zz",
        b"workflow/v1",
    ],
)
def test_unclean_paths_are_refused(path: bytes) -> None:
    with pytest.raises(Refused):
        canonical_path(path)


def test_every_page_names_its_icon_and_the_icon_is_there() -> None:
    """Without one, every page's browser asked for /favicon.ico and logged its 404."""
    pages = [*WEB_ROOT.glob("*.html"), *WEB_ROOT.glob("petugas/*.html")]
    named = {page.name for page in pages if 'rel="icon" href="/aset/ikon.svg"' in page.read_text()}
    assert named == {page.name for page in pages}
    assert web_file(WEB_ROOT, "/aset/ikon.svg") is not None
