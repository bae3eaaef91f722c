"""python -m services.intake: serve the intake API, its writer and its relay."""

from __future__ import annotations

from services.intake.app import create_app
from shared.service import serve
from shared.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    serve(create_app(settings), settings, "intake")
