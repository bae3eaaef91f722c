"""Each service's API documentation (Swagger UI) with its assets from a package, never a CDN.

An office network often has no internet, and the pages' Content-Security-Policy allows
scripts and styles from the origin only. So the page, Swagger UI's files (from the
fastapi-offline package, which keeps the files FastAPI would take from its CDN) and the few
lines that start it are all served by the service itself under `/{service}/docs`, with no
inline script.
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

ASSETS = files("fastapi_offline") / "static"

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<link rel="stylesheet" href="{base}/assets/swagger-ui.css">
<link rel="icon" type="image/png" href="{base}/assets/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{base}/assets/swagger-ui-bundle.js"></script>
<script src="{base}/start.js"></script>
</body>
</html>
"""

_START = """window.ui = SwaggerUIBundle({{
  url: "{openapi}",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
  showExtensions: true,
  showCommonExtensions: true,
}});
"""


def install(app: FastAPI, service: str) -> None:
    """Serve the API documentation of `service` at /{service}/docs (no CDN, no inline script)."""
    base, openapi = f"/{service}/docs", f"/{service}/openapi.json"
    page = _PAGE.format(title=f"{app.title} - API", base=base)
    start = _START.format(openapi=openapi)

    @app.get(base, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return HTMLResponse(page)

    @app.get(f"{base}/start.js", include_in_schema=False)
    async def start_script() -> Response:
        return Response(start, media_type="text/javascript; charset=utf-8")

    app.mount(f"{base}/assets", StaticFiles(directory=str(ASSETS)), name=f"{service}-docs")
