"""What the pages themselves must never do, in a real browser: send an officer off the office's
origin after signing in (`?lanjut=`), or put the receipt secret in an address before the
tracking page's script listens."""

from __future__ import annotations

from playwright.async_api import Page, Request, Route, expect

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


async def test_enter_before_the_tracking_script_sends_no_secret(stack: Stack, phone: Page) -> None:
    sent: list[str] = []
    phone.on("request", lambda request: sent.append(request.url))

    async def withheld(route: Route, request: Request) -> None:
        await route.abort()  # a slow or blocked module: the page as the HTML alone makes it

    await phone.route("**/aset/lacak.js", withheld)
    await phone.goto(stack.url("/lacak"))
    form = phone.locator("#lacak")
    assert await form.locator("input[name]").count() == 0  # nothing a native submit could send
    await expect(form.get_by_role("button", name="Lacak")).to_be_disabled()
    await phone.get_by_label("Nomor tiket").fill("7K3M-9QXP")
    await phone.get_by_label("Kunci tanda terima").fill("AB12-CD34-EF56")
    await phone.get_by_label("Kunci tanda terima").press("Enter")
    await phone.unroute("**/aset/lacak.js")
    await phone.goto(stack.url("/lacak"))  # after any navigation the Enter might have started
    await expect(phone.locator("#lacak").get_by_role("button", name="Lacak")).to_be_enabled()
    assert not [url for url in sent if "AB12" in url or "7K3M" in url], sent


async def test_a_complaint_sent_before_the_form_script_listens_goes_nowhere(
    stack: Stack, phone: Page
) -> None:
    """Enter before the form's script listens: the form went as the browser sends it, a POST to
    /formulir (no such address takes a form: the complaint lost with a JSON 404). The button is
    disabled until the script listens; then the form sends as the script does."""
    posts: list[str] = []
    phone.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)

    async def withheld(route: Route, request: Request) -> None:
        await route.abort()

    await phone.route("**/aset/formulir.js", withheld)
    await phone.goto(stack.url("/formulir"))
    await expect(phone.locator("#kirim")).to_be_disabled()
    await phone.locator("#isi").fill("Izin usaha saya belum terbit setelah tiga minggu.")
    await phone.locator("#nama").fill("Siti")
    await phone.locator("#nama").press("Enter")
    await phone.unroute("**/aset/formulir.js")
    await phone.goto(stack.url("/formulir"))
    await expect(phone.locator("#kirim")).to_be_enabled()
    assert posts == [], posts
