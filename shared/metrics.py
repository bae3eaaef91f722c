"""Prometheus metrics every service exposes on /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_STORED = Counter(
    "aduan_events_stored_total", "Events committed to a service's event store", ["service"]
)
EVENTS_PUBLISHED = Counter(
    "aduan_events_published_total", "Events the relay published with a broker confirm", ["service"]
)
EVENTS_CONSUMED = Counter(
    "aduan_events_consumed_total",
    "Messages a consumer finished with, by outcome",
    ["service", "outcome"],
)
RELAY_LAG = Gauge(
    "aduan_relay_lag_notifications",
    "Notifications stored but not yet published by the relay",
    ["service"],
)
RELAY_ACTIVE = Gauge(
    "aduan_relay_active", "1 while this process holds the service's relay lock", ["service"]
)
RELAY_CAUGHT_UP = Gauge(
    "aduan_relay_caught_up_timestamp_seconds",
    "Unix time at which the relay last found every stored notification published (alert "
    "on its age: the relay has been behind since then)",
    ["service"],
)
RELAY_REFUSED = Gauge(
    "aduan_relay_refused",
    "1 while the relay holds before a stored event its wire table neither publishes nor "
    "declares internal (nothing after it is published)",
    ["service"],
)
READY = Gauge(
    "aduan_ready",
    "1 while a readiness check of this service passes, 0 while it fails (measured at each "
    "/readyz and each scrape of /metrics, as /readyz measures it)",
    ["service", "check"],
)
HTTP_LATENCY = Histogram(
    "aduan_http_request_seconds",
    "HTTP request latency",
    ["service", "method", "route", "status"],
)
REPLICA_UP = Gauge(
    "aduan_replica_up",
    "1 while this process reads from its read replica, 0 while the replica is away and its "
    "reads go to the primary (only where a replica is configured)",
    ["replica"],
)
REPLICA_FALLBACKS = Counter(
    "aduan_replica_fallback_reads_total",
    "Reads meant for the read replica that ran on the primary instead (the replica away, or "
    "unable to answer that read)",
)
