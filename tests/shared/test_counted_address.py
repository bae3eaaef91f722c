"""How limits and guards count an address (shared/service.py `counted_address`)."""

from __future__ import annotations

import pytest

from shared.auth import loopback
from shared.service import counted_address


@pytest.mark.parametrize(
    ("host", "counted"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:7:1::a", "2001:db8:7:1::/64"),
        ("2001:DB8:7:1:ffff:a1:b2:c3", "2001:db8:7:1::/64"),  # the same line, spelt otherwise
        ("2001:db8:7:2::a", "2001:db8:7:2::/64"),  # the next line
        ("::ffff:198.51.100.7", "198.51.100.7"),  # an IPv4 written as IPv6
        ("fe80::1%eth0", "fe80::/64"),
        ("not-an-address", "not-an-address"),
        (None, "unknown"),
    ],
)
def test_an_address_is_counted_by_the_line_it_belongs_to(host: str | None, counted: str) -> None:
    assert counted_address(host) == counted


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_the_loopback_stays_the_loopback(host: str) -> None:
    """The demo login is asked from this machine only: its address must still say so."""
    assert loopback(counted_address(host))
