"""A stranger's requests write no log line each: uvicorn's warnings for a WebSocket request
(answered as the plain request it also is) are dropped, its other warnings kept."""

from __future__ import annotations

import logging

import pytest

from shared.service import configure_logging
from shared.settings import Settings


def test_uvicorns_warnings_for_a_websocket_request_are_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    configure_logging(Settings())
    uvicorn = logging.getLogger("uvicorn.error")
    with caplog.at_level(logging.WARNING, logger="uvicorn.error"):
        uvicorn.warning("Unsupported upgrade request.")
        uvicorn.warning("No supported WebSocket library detected. Please use ...")
        uvicorn.warning("Invalid HTTP request received.")
    assert [record.getMessage() for record in caplog.records] == ["Invalid HTTP request received."]
