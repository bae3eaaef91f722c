"""python -m services.workflow: serve the workflow API, its consumer and its relay."""

from __future__ import annotations

from services.workflow.app import create_app
from shared.service import serve
from shared.settings import Settings

if __name__ == "__main__":
    settings = Settings()
    serve(create_app(settings), settings, "workflow")
