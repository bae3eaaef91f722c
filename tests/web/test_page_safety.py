"""What the pages themselves must never do, in a real browser: send an officer off the office's
origin after signing in (`?lanjut=`)."""

from __future__ import annotations

from playwright.async_api import Page

from shared.sop import Role
from tests.web.conftest import Stack, demo_sign_in

OFF_ORIGIN = [
    "/\\evil.example",  # ?lanjut=/%5Cevil.example: a browser reads "/\" as "//"
    "/\\/evil.example",
    "//evil.example",
    "/\t/evil.example",
    "https://evil.example/petugas",
    "javascript:alert(1)",
]


async def test_signing_in_never_leaves_the_office_origin(stack: Stack, desk: Page) -> None:
    await desk.route("http://evil.example/**", lambda route: route.fulfill(body="di luar"))
    await desk.goto(stack.url("/petugas/masuk?lanjut=/%5Cevil.example"))
    resolved = await desk.evaluate(
        """async (values) => {
            const { destination } = await import("/aset/sso.js");
            return values.map((v) => new URL(destination(v), location.origin).href);
        }""",
        [*OFF_ORIGIN, "/petugas/kasus?id=7#riwayat"],
    )
    *refused, kept = resolved
    assert all(url.startswith(stack.origin + "/") for url in refused), resolved
    assert kept == stack.url("/petugas/kasus?id=7#riwayat")
    await demo_sign_in(desk, Role.TIM_PENGADUAN, "Rina")
    await desk.wait_for_url(lambda url: "/petugas/masuk" not in url)
    assert desk.url.startswith(stack.url("/petugas")), desk.url
