"""Every channel intake listens on: one module each, listed once.

Email has no router: it is a mailbox intake polls (services/intake/channels/email.py).
"""

from __future__ import annotations

from services.intake.channels import instagram, lapor, officer, qr, web, whatsapp

CHANNELS = (web, qr, officer, whatsapp, instagram, lapor)
