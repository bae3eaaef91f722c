"""The API documentation opens on an office network without internet: Swagger UI's files come
from the service itself (a package), and the page runs under the pages' Content-Security-Policy."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.async_api import ConsoleMessage, Page, Route, expect

from tests.web.conftest import Stack, screenshot

LOOPBACK = {"127.0.0.1", "localhost", "::1"}


async def test_the_api_docs_of_every_service_open_without_internet(
    stack: Stack, desk: Page
) -> None:
    outside: list[str] = []
    refused: list[str] = []

    async def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            await route.continue_()
        else:
            outside.append(route.request.url)
            await route.abort("internetdisconnected")

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            refused.append(message.text)

    await desk.context.route("**/*", loopback_only)
    desk.on("console", console)
    for service, operation in [
        ("intake", "/intake/v1/complaints"),
        ("workflow", "/workflow/v1/cases/{case_id}"),
        ("reporting", "/reporting/v1/rekap"),
    ]:
        await desk.goto(stack.url(f"/{service}/docs"))
        await expect(desk.locator(".swagger-ui .info .title")).to_contain_text(f"Aduan {service}")
        await expect(
            desk.locator(f'.opblock-summary-path[data-path="{operation}"]').first
        ).to_be_visible()
        await screenshot(desk, f"api-docs-{service}")
    assert outside == []
    assert refused == []  # nothing blocked by the Content-Security-Policy, nothing failed
