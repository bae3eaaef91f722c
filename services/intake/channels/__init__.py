"""Every channel intake listens on: one module each, listed once."""

from __future__ import annotations

from services.intake.channels import web

CHANNELS = (web,)
