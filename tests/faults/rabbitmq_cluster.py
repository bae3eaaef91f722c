"""A RabbitMQ cluster of private nodes on local ports (tests/servers.py): the machine's own
broker is never touched. The nodes share an Erlang cookie and join the first one."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from uuid import uuid4

from tests.servers import PrivateRabbitMQ

RABBITMQCTL = Path("/usr/lib/rabbitmq/bin/rabbitmqctl")
CTL_SECONDS = 120.0


class ClusterNode(PrivateRabbitMQ):
    """A private node whose cookie ($HOME/.erlang.cookie) its cluster shares."""

    def __init__(self, cookie: str) -> None:
        super().__init__()
        path = self.root / ".erlang.cookie"
        path.write_text(cookie)
        path.chmod(0o400)

    def ctl(self, *arguments: str) -> str:
        """Run `rabbitmqctl -n <this node> ...` with the node's own environment."""
        done = subprocess.run(
            [RABBITMQCTL, "-n", self.node, *arguments],
            env=self._environment(),
            capture_output=True,
            text=True,
            timeout=CTL_SECONDS,
            check=False,
        )
        if done.returncode != 0:
            raise AssertionError(f"rabbitmqctl {' '.join(arguments)}: {done.stderr or done.stdout}")
        return done.stdout

    def join(self, first: ClusterNode) -> None:
        """Join the cluster of `first` (this node's own data is reset)."""
        self.ctl("stop_app")
        self.ctl("join_cluster", first.node)
        self.ctl("start_app")
        self.ctl("await_startup")


@contextlib.contextmanager
def rabbitmq_cluster(size: int = 3) -> Iterator[list[ClusterNode]]:
    """`size` nodes started together, clustered, removed at the block's end."""
    cookie = uuid4().hex.upper()
    nodes = [ClusterNode(cookie) for _ in range(size)]
    began = time.monotonic()
    try:
        with ThreadPoolExecutor(size) as pool:
            list(pool.map(lambda node: node.start(), nodes))
        for node in nodes[1:]:
            node.join(nodes[0])
        status = json.loads(nodes[0].ctl("cluster_status", "--formatter", "json"))
        assert sorted(status["running_nodes"]) == sorted(node.node for node in nodes), status
        nodes[0].start_seconds = time.monotonic() - began  # the whole cluster's start
        yield nodes
    finally:
        with ThreadPoolExecutor(size) as pool:
            list(pool.map(lambda node: node.remove(), nodes))
