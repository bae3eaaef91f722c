"""The fault tests' own RabbitMQ cluster (tests/faults/rabbitmq_cluster.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from tests.faults.rabbitmq_cluster import ClusterNode, rabbitmq_cluster

log = logging.getLogger(__name__)


@pytest.fixture
def cluster() -> Iterator[list[ClusterNode]]:
    """Three private RabbitMQ nodes clustered, removed after the test."""
    with rabbitmq_cluster(3) as nodes:
        log.warning("three-node cluster up in %.1f s", nodes[0].start_seconds)
        yield nodes
