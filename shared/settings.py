"""One Settings class for every service; defaults are the local servers."""

from __future__ import annotations

import math
import re
from datetime import time
from typing import Annotated
from urllib.parse import quote, urlsplit, urlunsplit

from pydantic import AfterValidator, Field, SecretStr, StringConstraints, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.working_time import OfficeHours, WorkingCalendar

SERVICES = ("intake", "workflow", "reporting")
MOST_PARTITIONS = 256


NUMBER_FIELDS = re.compile(r"\{\{|\}\}|\{(?:year|month|roman)(?::[^{}.\[\]]*)?\}")
"""What a letter number's pattern may hold besides text: {year}, {month} (01–12), {roman}
(I–XII), each with a format ({year:04d}), and braces written twice ({{, }})."""


def number_pattern(pattern: str) -> str:
    """A letter number's pattern as given, if its fields are only those of NUMBER_FIELDS and
    it formats (another field was a KeyError when the monthly recap was drawn; format() would
    follow '{year.__class__}' to the value's attributes)."""
    refused = "Pola nomor surat hanya boleh memuat {year}, {month} dan {roman}."
    if set("{}") & set(NUMBER_FIELDS.sub("", pattern)):
        raise ValueError(refused)
    try:
        pattern.format(year=2026, month="01", roman="I")
    except (ValueError, KeyError, IndexError) as error:
        raise ValueError(refused) from error
    return pattern


NumberPattern = Annotated[str, StringConstraints(max_length=120), AfterValidator(number_pattern)]
"""The pattern of a recap letter's number (`number_pattern`)."""


class Settings(BaseSettings):
    """Configuration read from ADUAN_* environment variables."""

    model_config = SettingsConfigDict(env_prefix="ADUAN_", frozen=True, extra="ignore")

    agency: str = "dpmptsp-gresik"
    timezone: str = "Asia/Jakarta"

    postgres_host: str = "127.0.0.1"
    postgres_port: int = 5432
    postgres_user: str = "postgres"
    postgres_password: SecretStr = SecretStr("")
    postgres_db: str = "aduan"
    postgres_pool_size: int = 5
    # A streaming replica of the primary (deploy/README.md): reporting's read-only requests
    # read there, and from the primary while it is away. Empty: every read goes to the primary.
    # The user, password and database are the primary's (a replica is a copy of it).
    postgres_replica_host: str = ""
    postgres_replica_port: int = 5432

    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    rabbitmq_management_url: str = "http://guest:guest@127.0.0.1:15672/"
    # The AMQP heartbeat: a broker that answers nothing is given up after about three of them
    # (aiormq waits 3 × (heartbeat + 1) s), and every consumer and relay reconnects.
    rabbitmq_heartbeat_seconds: int = 10
    # A broker call (connecting, declaring, a publish's confirmation) that takes longer counts
    # as the broker away: the relay reconnects and publishes again from its stored position.
    broker_deadline_seconds: float = 5.0
    exchange: str = "aduan.events"
    delivery_limit: int = 10
    prefetch: int = 200
    # Each consuming service's events are spread by case over this many partition queues
    # (shared/topology.py). Changing it re-routes cases: a drained operation (docs/partitions.md).
    partitions: int = Field(default=8, ge=1, le=MOST_PARTITIONS)
    # This process among the service's consumer processes: it takes partitions p with
    # p mod consumer_count == consumer_index first, then stands by for the others (after
    # standby_delay_seconds, so that processes started together share the partitions).
    consumer_index: int = Field(default=0, ge=0)
    consumer_count: int = Field(default=1, ge=1)
    standby_delay_seconds: float = 3.0

    redis_url: str = "redis://127.0.0.1:6379/0"
    redis_prefix: str = "aduan:"

    bind_host: str = "127.0.0.1"
    gateway_port: int = 8000
    intake_port: int = 8001
    workflow_port: int = 8002
    reporting_port: int = 8003
    intake_url: str = ""
    workflow_url: str = ""
    reporting_url: str = ""
    public_url: str = "http://127.0.0.1:8000"
    # Peers whose X-Forwarded-For / X-Forwarded-Proto a service believes (the gateway, the
    # proxy): comma-separated addresses or networks. A client's own header is never believed.
    trusted_proxies: str = "127.0.0.1"
    # What the services present to each other's /internal routes; empty: one is made once and
    # kept in the database, which every service of a deployment shares.
    internal_token: SecretStr = SecretStr("")
    # A store write (a submission's commit, an attachment) that takes longer fails with 503,
    # and the service reports itself not ready until its writer is healthy again. Below the 2 s
    # every answer is promised in (issue 12): a request in flight when the store freezes waits
    # this long; a healthy group commit takes milliseconds, so 1.5 s is ample headroom.
    write_deadline_seconds: float = 1.5

    auth_issuer: str = "aduan"
    auth_audience: str = "aduan"
    auth_jwks_url: str = ""  # empty: the built-in issuer of the workflow service
    auth_public_keys: str = ""  # PEM public key(s) or a JWKS document, instead of a URL
    auth_signing_key: SecretStr = SecretStr("")  # PEM; empty: workflow keeps its own in its DB
    auth_token_minutes: int = 60  # the life of a token the built-in issuer signs
    auth_max_token_minutes: int = 720  # a token living longer (exp - iat) is refused
    auth_jwks_refresh_seconds: float = 60.0  # an unknown kid fetches the JWKS at most this often
    auth_max_failures: int = 5  # wrong passwords in a row before an account is locked
    auth_lockout_minutes: int = 15
    # The login page of local runs: a name and a role, no password, on the built-in issuer.
    # `make up` turns it on; a real office signs officers in through its identity provider.
    auth_demo_login: bool = False
    # Sign-in at the office's OpenID Connect provider (README "Signing officers in"): the login
    # page offers it when an issuer is set. Authorization code with PKCE; workflow exchanges the
    # code (as a confidential client when a secret is set) and signs its own short-lived token
    # with the roles the provider's claims map to. The redirect URI to register with the
    # provider is public_url + /petugas/masuk-sso.
    oidc_issuer: str = ""  # its /.well-known/openid-configuration is read; empty: no OIDC sign-in
    oidc_client_id: str = ""
    oidc_client_secret: SecretStr = SecretStr("")  # empty: a public client (PKCE only)
    oidc_scopes: str = "openid profile"
    # Sent to the provider: "login" asks for the password at every sign-in, so an officer signing
    # in on a shared desk after another one signed out is never let in as them; "" lets the
    # provider's own session sign the officer in without asking.
    oidc_prompt: str = "login"
    oidc_roles_claim: str = "roles"  # a dotted path for nested claims: realm_access.roles
    # When set, the claim (a dotted path) names the officer's agencies: an agency id, a list of
    # them (the roles claim's roles in each) or {agency: [role names]}; agencies this deployment
    # does not serve are left out, and none left refuses the sign-in. Empty: the home agency.
    oidc_agency_claim: str = ""
    # The provider's role (or group) names -> ours; empty: the provider uses our role names.
    oidc_role_map: dict[str, str] = Field(default_factory=dict)

    # The office as its published documents name it (letterhead, signature): data, never the
    # agency id. An empty head name or NIP leaves a dotted line to be filled in by hand.
    office_government: str = "PEMERINTAH KABUPATEN GRESIK"
    office_name: str = "Dinas Penanaman Modal dan Pelayanan Terpadu Satu Pintu Kabupaten Gresik"
    office_address: str = "Jl. Dr. Wahidin Sudirohusodo No. 245, Gresik 61161, Jawa Timur"
    office_contact: str = "Telepon (031) 3951575 · dpmptsp.gresikkab.go.id"
    office_city: str = "Gresik"
    office_logo_path: str = ""  # a PNG or JPEG beside the letterhead; empty: no logo
    office_head_title: str = "Kepala Dinas"
    office_head_name: str = ""
    office_head_rank: str = ""  # pangkat / golongan, e.g. "Pembina Utama Muda (IV/c)"
    office_head_nip: str = ""
    # The recap letter's number: {year}, {month} (01–12) and {roman} (I–XII) are filled in.
    recap_number_pattern: NumberPattern = "500.16/{month}/437.76/{year}"

    office_hours: dict[int, tuple[time, time]] = Field(
        default_factory=lambda: {day: (time(8, 0), time(16, 0)) for day in range(5)}
    )  # weekday (0 = Monday) -> opening, closing
    recap_check_seconds: float = 600.0
    press_idle_seconds: float = 120.0  # reporting's printing child ends once idle this long
    clock: bool = True  # run the case clock's scanner in this process
    clock_scan_seconds: float = 30.0
    deadline_warning_days: tuple[int, ...] = (3, 1)
    reopen_window_days: int = 10

    relay: bool = True  # run the service's relay in this process (off: a separate relay runs it)
    relay_poll_seconds: float = 2.0
    relay_batch: int = 500
    max_body_bytes: int = 256 * 1024
    max_webhook_bytes: int = 4 * 1024 * 1024  # a Meta notification: up to 1,000 updates
    max_attachment_bytes: int = 10 * 1024 * 1024
    log_level: str = "info"

    # Intake's channels (docs/channels.md). Empty credentials switch a channel's outbound off.
    pseudonym_secret: SecretStr = SecretStr("")  # HMAC key of sender hashes; empty: kept in the DB
    web_form_path: str = "/formulir"  # the public form the printed QR code opens
    tracking_page_path: str = "/lacak"  # the public tracking page a code's QR opens
    conversation_window_minutes: int = 120  # later messages of one sender join its submission
    officer_backdate_days: int = 30  # how far back an officer may date a recorded submission
    rate_ip_per_minute: int = 60  # public endpoints, per client address
    rate_public_reads_per_minute: int = 600  # public reads (rekap, tracking), per address
    rate_sender_per_minute: int = 30  # messages per sender (phone, account, mailbox)
    attachment_types: tuple[str, ...] = (
        "application/pdf",
        "image/jpeg",
        "image/png",
        "image/webp",
        "audio/ogg",
        "audio/mpeg",
        "audio/aac",
        "audio/mp4",
        "video/mp4",
        "text/plain",
    )
    graph_api_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v21.0"
    whatsapp_app_secret: SecretStr = SecretStr("")
    whatsapp_verify_token: SecretStr = SecretStr("")
    whatsapp_access_token: SecretStr = SecretStr("")
    whatsapp_phone_number_id: str = ""
    instagram_app_secret: SecretStr = SecretStr("")
    instagram_verify_token: SecretStr = SecretStr("")
    instagram_access_token: SecretStr = SecretStr("")
    instagram_account_id: str = ""
    imap_host: str = ""  # empty: no mailbox is polled
    imap_port: int = 993
    # One IMAP call may block this long; the poller's thread cannot be cancelled before it ends.
    imap_timeout_seconds: float = 10.0
    imap_tls: bool = True
    imap_user: str = ""
    imap_password: SecretStr = SecretStr("")
    imap_mailbox: str = "INBOX"
    imap_poll_seconds: float = 30.0
    smtp_host: str = ""  # empty: no email is sent
    smtp_port: int = 587
    smtp_security: str = "starttls"  # starttls | tls | none
    smtp_user: str = ""
    smtp_password: SecretStr = SecretStr("")
    mail_from: str = "pengaduan@dpmptsp.example.go.id"
    lapor_url: str = ""  # SP4N-LAPOR! agency API base URL; empty: nothing is pushed back
    lapor_token: SecretStr = SecretStr("")  # our token for that API
    lapor_inbound_token: SecretStr = SecretStr("")  # what LAPOR! presents to our endpoint
    # Open311 api_key values partner apps POST with, comma-separated; empty: POST is refused.
    open311_api_keys: SecretStr = SecretStr("")
    delivery_poll_seconds: float = 5.0
    delivery_max_attempts: int = 12
    delivery_backoff_seconds: float = 5.0  # the first retry's wait; doubled each time (max 1 h)
    # Outside Meta's 24-hour customer-service window WhatsApp takes only an approved template:
    # its body has three parameters, {{1}} the tracking code, {{2}} what happened, {{3}} the link.
    whatsapp_template_name: str = "aduan_pemberitahuan"
    whatsapp_template_language: str = "id"

    @model_validator(mode="after")
    def _one_of_the_consumers(self) -> Settings:
        if self.consumer_index >= self.consumer_count:
            raise ValueError("consumer_index must be below consumer_count")
        return self

    @property
    def max_upload_bytes(self) -> int:
        """The largest body with files: an attachment with the form around it."""
        return self.max_attachment_bytes + 65536

    @property
    def largest_body_bytes(self) -> int:
        """The largest request body any service takes (with files, or a webhook's)."""
        return max(self.max_upload_bytes, self.max_webhook_bytes)

    def port(self, service: str) -> int:
        """The port a service listens on."""
        return int(getattr(self, f"{service}_port"))

    def service_url(self, service: str) -> str:
        """Where a service can be reached directly (for the gateway and for feeds)."""
        url = str(getattr(self, f"{service}_url"))
        return url or f"http://127.0.0.1:{self.port(service)}"

    def postgres_dsn(self, dbname: str | None = None, *, replica: bool = False) -> str:
        """A libpq connection URL for asyncpg and psycopg (of the read replica: `replica`)."""
        host, port = (
            (self.postgres_replica_host, self.postgres_replica_port)
            if replica
            else (self.postgres_host, self.postgres_port)
        )
        password = self.postgres_password.get_secret_value()
        auth = quote(self.postgres_user, safe="")
        if password:
            auth += ":" + quote(password, safe="")
        db = quote(dbname or self.postgres_db, safe="")
        return f"postgresql://{auth}@{host}:{port}/{db}"

    def eventsourcing_env(
        self, *, schema: str, recorder_topic: str = "", connect_timeout: int = 5
    ) -> dict[str, str]:
        """The environment the eventsourcing library reads its PostgreSQL settings from."""
        env = {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.postgres_db,
            "POSTGRES_HOST": self.postgres_host,
            "POSTGRES_PORT": str(self.postgres_port),
            "POSTGRES_USER": self.postgres_user,
            "POSTGRES_PASSWORD": self.postgres_password.get_secret_value(),
            "POSTGRES_SCHEMA": schema,
            "POSTGRES_POOL_SIZE": str(self.postgres_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.postgres_pool_size),
            "POSTGRES_PRE_PING": "y",
            # A commit waiting on the events table's lock gives up with the write deadline.
            "POSTGRES_LOCK_TIMEOUT": str(max(1, math.ceil(self.write_deadline_seconds))),
            "POSTGRES_CONNECT_TIMEOUT": str(connect_timeout),
        }
        if recorder_topic:
            env["APPLICATION_RECORDER_TOPIC"] = recorder_topic
        return env

    def rabbitmq_vhost(self) -> str:
        """The virtual host named in the AMQP URL ('/' when none is given)."""
        path = urlsplit(self.rabbitmq_url).path
        return path[1:] if len(path) > 1 else "/"

    def management_api(self) -> tuple[str, tuple[str, str]]:
        """Base URL and credentials of the RabbitMQ management API."""
        parts = urlsplit(self.rabbitmq_management_url)
        base = urlunsplit((parts.scheme, f"{parts.hostname}:{parts.port or 15672}", "", "", ""))
        return base, (parts.username or "guest", parts.password or "guest")

    def jwks_url(self) -> str:
        """Where officers' token keys are published."""
        return self.auth_jwks_url or f"{self.service_url('workflow')}/workflow/v1/auth/jwks.json"

    def working_calendar(self) -> WorkingCalendar:
        """The office calendar from these settings (without administrator overrides)."""
        return WorkingCalendar(self.timezone, OfficeHours(dict(self.office_hours)))

    def redis_key(self, *parts: str) -> str:
        """A Redis key under this deployment's prefix."""
        return self.redis_prefix + ":".join(parts)
