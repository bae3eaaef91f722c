"""python -m services.reporting: serve the reporting API and its projections."""

from __future__ import annotations

from services.reporting.app import create_app
from shared.service import serve
from shared.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    serve(create_app(settings), settings, "reporting")
