"""Monitoring as shipped in deploy/: the alert rules and the Prometheus config pass promtool,
each alert fires under its unit test's series, and a real Prometheus (Debian's) scrapes the
three services and loads the rules; the rules' and the dashboard's metrics are ones the
services export."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import yaml
from fastapi import FastAPI
from prometheus_client import generate_latest

from deploy.preflight import PROMETHEUS
from shared.outages import DEADLINE_SECONDS
from shared.service import METRICS_WAIT_SECONDS as WAIT
from shared.service import SharedReadiness, create_service_app
from shared.settings import SERVICES, Settings
from tests.conftest import serving
from tests.infrastructure import free_port
from tests.polling import eventually
from tests.system import System, running, with_free_ports

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
RULES = DEPLOY / "prometheus" / "alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts.test.yml"
CONFIG = DEPLOY / "prometheus" / "prometheus.yml"
DASHBOARD = DEPLOY / "grafana" / "aduan.json"
ANNOTATIONS = {"summary", "description", "summary_en", "description_en"}
SEVERITIES = {"critical", "warning", "info"}
# A name in PromQL that is one of ours; a histogram's or counter's series add these suffixes.
OURS = re.compile(r"\baduan_[a-z_]+\b")
SUFFIXES = ("_bucket", "_count", "_sum", "_created")


def _tool(name: str) -> str:
    """Prometheus's programs, beside the one the preflight found (deploy/preflight.py)."""
    return str(PROMETHEUS.with_name(name))


def _promtool(*args: str) -> str:
    done = subprocess.run(
        [_tool("promtool"), *args], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def _dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [target["expr"] for panel in panels for target in panel.get("targets", [])]


def test_rules_and_config_pass_promtool() -> None:
    checked = _promtool("check", "rules", str(RULES))
    assert f"SUCCESS: {len(_rules())} rules found" in checked, checked
    _promtool("check", "config", str(CONFIG))


def test_each_alert_fires_under_its_unit_test() -> None:
    _promtool("test", "rules", str(RULE_TESTS))
    fired = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test["alert_rule_test"]
        if case["exp_alerts"]
    }
    assert {rule["alert"] for rule in _rules()} <= fired


def test_each_alert_waits_is_graded_and_says_why_in_both_languages() -> None:
    for rule in _rules():
        assert rule.get("for"), rule["alert"]
        assert rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert set(rule["annotations"]) == ANNOTATIONS, rule["alert"]


def test_dashboard_is_a_grafana_model_on_a_prometheus_datasource() -> None:
    model = json.loads(DASHBOARD.read_text())
    assert model["uid"] == "aduan"
    assert model["schemaVersion"] >= 30
    variables = {v["name"]: v for v in model["templating"]["list"]}
    assert variables["datasource"]["query"] == "prometheus"
    ids = [panel["id"] for panel in model["panels"]]
    assert len(ids) == len(set(ids))
    for panel in model["panels"]:
        assert {"h", "w", "x", "y"} <= set(panel["gridPos"]), panel["title"]
        for target in panel.get("targets", []):
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]


@contextlib.asynccontextmanager
async def prometheus(system: System, workdir: Path) -> AsyncIterator[str]:
    """Debian's Prometheus with deploy/'s config and rules, scraping the system's services
    every second; its base URL."""
    config = yaml.safe_load(CONFIG.read_text())
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(RULES)]
    assert {job["job_name"] for job in config["scrape_configs"]} == set(SERVICES)
    for job in config["scrape_configs"]:
        target = system.url(job["job_name"]).removeprefix("http://")
        job["static_configs"] = [{"targets": [target]}]
    path = workdir / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    log = workdir / "prometheus.log"
    for _ in range(3):
        port = free_port()
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                _tool("prometheus"),
                f"--config.file={path}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
                stdout=out,
                stderr=out,
            )
        try:
            if await _ready(process, f"http://127.0.0.1:{port}"):
                yield f"http://127.0.0.1:{port}"
                return
            if "address already in use" not in log.read_text():
                raise AssertionError(f"prometheus exited:\n{log.read_text()[-3000:]}")
        finally:
            if process.returncode is None:
                process.terminate()
                try:
                    await asyncio.wait_for(process.wait(), 20)
                except TimeoutError:
                    process.kill()
                    await process.wait()
    raise AssertionError("prometheus: no free port")


async def _ready(process: asyncio.subprocess.Process, url: str) -> bool:
    """Wait until Prometheus answers /-/ready (True) or exits (False)."""

    async def answered() -> bool:
        if process.returncode is not None:
            return True
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{url}/-/ready")).status_code == 200

    await eventually(answered, within=30, interval=0.1)
    return process.returncode is None


def _exported(texts: list[str]) -> set[str]:
    """The metric families a /metrics exposition declares (# HELP), labelled or not."""
    return {
        line.split()[2] for text in texts for line in text.splitlines() if line.startswith("# HELP")
    }


def _unknown(query: str, exported: set[str]) -> set[str]:
    """Our metric names in a query that no service exports (a histogram's `_bucket`, `_count`
    and `_sum` series belong to its family)."""
    return {
        name
        for name in OURS.findall(query)
        if not {name, *(name.removesuffix(suffix) for suffix in SUFFIXES)} & exported
    }


async def _query(http: httpx.AsyncClient, expr: str) -> list[dict[str, Any]]:
    answer = (await http.get("/api/v1/query", params={"query": expr})).json()
    assert answer["status"] == "success", (expr, answer)
    result: list[dict[str, Any]] = answer["data"]["result"]
    return result


async def _rule_states(http: httpx.AsyncClient) -> dict[str, tuple[str, str]]:
    """Each loaded alert rule's health and state."""
    groups = (await http.get("/api/v1/rules")).json()["data"]["groups"]
    return {r["name"]: (r["health"], r["state"]) for g in groups for r in g["rules"]}


async def _scraped(http: httpx.AsyncClient) -> None:
    """Every service's target is up, and each one's aduan_ metrics and readiness are stored."""

    async def all_up() -> dict[str, str] | None:
        targets = (await http.get("/api/v1/targets")).json()["data"]["activeTargets"]
        health = {t["labels"]["job"]: t["health"] for t in targets}
        return health if health == dict.fromkeys(SERVICES, "up") else None

    async def ours_from_each() -> bool:
        found = await _query(http, 'count by (job) ({__name__=~"aduan_.+"})')
        return {series["metric"]["job"] for series in found} == set(SERVICES)

    async def each_ready() -> bool:
        ready = await _query(http, "min by (service) (aduan_ready)")
        return {s["metric"]["service"] for s in ready if s["value"][1] == "1"} == set(SERVICES)

    await eventually(all_up, within=30, interval=0.2)
    await eventually(ours_from_each, within=30, interval=0.2)
    await eventually(each_ready, within=30, interval=0.2)


async def _evaluated_quietly(http: httpx.AsyncClient) -> None:
    """Every rule of alerts.yml is loaded and evaluates; on a healthy system none is even
    pending."""

    async def evaluated() -> bool:
        return all(health == "ok" for health, _ in (await _rule_states(http)).values())

    async def quiet() -> bool:
        return all(state == "inactive" for _, state in (await _rule_states(http)).values())

    await eventually(evaluated, within=30, interval=0.2)
    assert set(await _rule_states(http)) == {rule["alert"] for rule in _rules()}
    with contextlib.suppress(AssertionError):
        await eventually(quiet, within=30, interval=0.5)
    noisy = {name: s for name, (_, s) in (await _rule_states(http)).items() if s != "inactive"}
    assert not noisy


async def _lint(text: str) -> None:
    """The exposition passes Prometheus's own lint (HELP text, names, units)."""
    lint = await asyncio.create_subprocess_exec(
        _tool("promtool"),
        "check",
        "metrics",
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    said, _ = await lint.communicate(text.encode())
    assert lint.returncode == 0, said.decode()


async def test_prometheus_scrapes_every_service_and_evaluates_the_rules(
    settings: Settings, tmp_path: Path
) -> None:
    settings = with_free_ports(settings)
    async with (
        running(settings, tmp_path) as system,
        prometheus(system, tmp_path) as url,
        httpx.AsyncClient(base_url=url, timeout=10) as http,
    ):
        await _scraped(http)
        await _evaluated_quietly(http)
        for expr in _dashboard_queries():
            await _query(http, expr)  # every panel's query is PromQL Prometheus accepts
        texts = [(await http.get(f"{system.url(s)}/metrics")).text for s in SERVICES]
    for text in texts:
        await _lint(text)
    exported = _exported(texts)
    for expr in [rule["expr"] for rule in _rules()] + _dashboard_queries():
        assert not _unknown(expr, exported), (expr, _unknown(expr, exported))


def _probe_app(checks: dict[str, Callable[[], Awaitable[bool]]]) -> FastAPI:
    """A service app with these readiness checks and nothing else."""

    @contextlib.asynccontextmanager
    async def nothing(_: FastAPI) -> AsyncIterator[None]:
        yield

    app = create_service_app(service="probe", settings=Settings(), lifespan=nothing)
    app.state.readiness = checks
    return app


async def test_readiness_is_a_gauge_measured_at_each_scrape() -> None:
    """/metrics runs the readiness checks as /readyz does: aduan_ready follows each check."""
    answers = {"writer": False}

    async def writer() -> bool:
        return answers["writer"]

    app = _probe_app({"writer": writer})
    async with serving(app) as http:
        for ready in (False, True, False):
            answers["writer"] = ready
            text = (await http.get("/metrics")).text
            assert f'aduan_ready{{check="writer",service="probe"}} {float(ready)}' in text


async def test_a_scrape_does_not_wait_out_a_silent_check() -> None:
    """A check held by a silent server answers at its deadline (1.5 s); the scrape answers
    sooner, with the gauge as the last finished run set it, and the run goes on."""
    silent, answers = asyncio.Event(), {"broker": True}

    async def broker() -> bool:
        if silent.is_set():
            await asyncio.Event().wait()  # a server that never answers
        return answers["broker"]

    app = _probe_app({"broker": broker})
    gauge = 'aduan_ready{check="broker",service="probe"}'
    async with serving(app) as http:
        assert f"{gauge} 1.0" in (await http.get("/metrics")).text
        silent.set()
        began = time.monotonic()
        text = (await http.get("/metrics")).text
        waited = time.monotonic() - began
        assert waited < WAIT + 0.3 < DEADLINE_SECONDS, waited
        assert f"{gauge} 1.0" in text  # as last measured
        await eventually(lambda: _true(f"{gauge} 0.0" in generate_latest().decode()), within=5)


def test_compose_runs_monitoring_only_in_its_profile_with_deploys_files() -> None:
    compose = yaml.safe_load((DEPLOY.parent / "docker-compose.yml").read_text())["services"]
    monitoring = {name for name, service in compose.items() if service.get("profiles")}
    assert monitoring == {"prometheus", "grafana"}
    for name in monitoring:
        assert compose[name]["profiles"] == ["monitoring"]
        for volume in compose[name]["volumes"]:
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (DEPLOY.parent / source).exists(), (name, source)
    mounted = {v.split(":")[1] for v in compose["prometheus"]["volumes"]}
    assert "/etc/prometheus" in mounted  # the image reads /etc/prometheus/prometheus.yml


async def test_callers_at_the_same_time_share_one_run_of_the_readiness_checks() -> None:
    """A scrape and a probe at once run the checks once (one connection, not one each)."""
    runs, release = [], asyncio.Event()

    async def store() -> bool:
        runs.append(1)
        await release.wait()
        return True

    measured = SharedReadiness("probe")
    together = asyncio.gather(measured({"store": store}), measured({"store": store}))
    await eventually(lambda: _true(bool(runs)), within=5)
    release.set()
    assert list(await together) == [{"store": True}, {"store": True}]
    assert runs == [1]
    assert await measured({"store": store}) == {"store": True}  # a later caller: a new run
    assert runs == [1, 1]


async def _true(value: bool) -> bool:
    return value
