"""The shape of the project: what may import what, and one command per service everywhere."""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path

import pytest
import yaml

from deploy.local import _processes, environment
from deploy.preflight import DOCKER_COMPOSE, NGINX
from shared.asyncapi import document
from shared.settings import SERVICES, Settings
from tests.front_door import nginx_conf
from tests.infrastructure import base_settings

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_services_never_import_each_other() -> None:
    for service in SERVICES:
        for path in (ROOT / "services" / service).rglob("*.py"):
            others = {
                name
                for name in imported_modules(path)
                if name.startswith("services.") and not name.startswith(f"services.{service}")
            }
            assert not others, f"{path.relative_to(ROOT)} imports {others}"


def test_shared_imports_no_service() -> None:
    for path in (ROOT / "shared").rglob("*.py"):
        assert not {n for n in imported_modules(path) if n.startswith("services")}, path


def test_compose_runs_the_commands_make_up_runs() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    local = _processes()
    for service in SERVICES:
        assert compose[service]["command"] == ["python", "-m", f"services.{service}"]
        assert local[service][1:] == ["-m", f"services.{service}"]
        assert "healthcheck" in compose[service]
    nginx = (ROOT / "deploy" / "nginx.conf").read_text()
    for service in SERVICES:
        assert f"location /{service}/" in nginx


def test_every_container_is_restarted_and_checked() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    for name, container in compose.items():
        assert container.get("restart") in ("unless-stopped", "on-failure", "always"), name
        assert "healthcheck" in container, name


def test_the_asyncapi_document_is_current() -> None:
    written = json.loads((ROOT / "docs" / "asyncapi.json").read_text())
    assert written == document(), "regenerate: python -m shared.asyncapi > docs/asyncapi.json"


def test_the_nginx_harness_finds_what_it_replaces(tmp_path: Path) -> None:
    derived = nginx_conf(base_settings(), 8080, tmp_path)
    conf = tmp_path / "nginx.conf"
    conf.write_text(derived)
    checked = subprocess.run(
        [str(NGINX), "-t", "-p", str(tmp_path), "-e", str(tmp_path / "e.log"), "-c", str(conf)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_compose_file_is_valid_and_builds_one_image_for_the_services() -> None:
    checked = subprocess.run(  # Debian's docker-compose validates the file as Docker would
        [str(DOCKER_COMPOSE), "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    images = {compose[service]["image"] for service in SERVICES}
    builds = {str(compose[service]["build"]) for service in SERVICES}
    assert len(images) == len(builds) == 1
    assert all(compose[service]["pull_policy"] == "build" for service in SERVICES)
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") + 1 :][:4] == [
        "!requirements.lock", "!shared/", "!services/", "!deploy/"
    ]  # fmt: skip


def test_compose_trusts_forwarded_headers_from_its_own_network_only() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    subnets = [c["subnet"] for c in compose["networks"]["default"]["ipam"]["config"]]
    assert compose["x-aduan-env"]["ADUAN_TRUSTED_PROXIES"] == ",".join(subnets)
    assert all("ports" not in compose["services"][service] for service in SERVICES)


def test_compose_never_turns_the_demo_login_on() -> None:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    environments = [compose.get("x-aduan-env", {})] + [
        service.get("environment") or {} for service in compose["services"].values()
    ]
    for env in environments:
        assert "ADUAN_AUTH_DEMO_LOGIN" not in env
    assert "ADUAN_AUTH_DEMO_LOGIN" not in (ROOT / "docker-compose.yml").read_text()


def test_make_up_turns_the_demo_login_on_only_on_loopback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ADUAN_AUTH_DEMO_LOGIN", raising=False)
    for host, demo in [("127.0.0.1", "true"), ("::1", "true"), ("0.0.0.0", None)]:
        settings = Settings(bind_host=host)
        assert environment(settings).get("ADUAN_AUTH_DEMO_LOGIN") == demo, host
