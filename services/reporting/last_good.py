"""The last good copy of public reads, served (marked) while the database is away."""

STALE_HEADER = "X-Aduan-Stale"
