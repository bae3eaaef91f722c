"""The baseline of bench/intake.py: a bare FastAPI endpoint doing one asyncpg INSERT per request."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from uuid import uuid4

from fastapi import FastAPI, Request
from pydantic import BaseModel

from shared.db import create_pool
from shared.service import serve
from shared.settings import Settings


class Form(BaseModel):
    """The same body the web form sends."""

    text: str
    category: str | None = None


def create_app(settings: Settings) -> FastAPI:
    """POST /intake/v1/complaints → INSERT, 201; /readyz for the harness."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.pool = await create_pool(settings, max_size=10)
        async with app.state.pool.acquire() as conn:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS bench_baseline "
                "(id uuid PRIMARY KEY, text text NOT NULL, received_at timestamptz NOT NULL)"
            )
        yield
        await app.state.pool.close()

    app = FastAPI(lifespan=lifespan)

    @app.post("/intake/v1/complaints", status_code=201)
    async def submit(form: Form, request: Request) -> dict[str, str]:
        case_id = uuid4()
        async with request.app.state.pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO bench_baseline (id, text, received_at) VALUES ($1, $2, $3)",
                case_id,
                form.text,
                datetime.now(UTC),
            )
        return {"id": str(case_id)}

    @app.get("/readyz")
    async def ready() -> dict[str, bool]:
        return {"ready": True}

    return app


if __name__ == "__main__":
    settings = Settings()
    serve(create_app(settings), settings, "intake")
