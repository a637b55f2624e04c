"""docker-compose.yml is consistent with the Dockerfile, the CLI and its settings.

Docker does not run here, so these tests read the files: every build has its
Dockerfile, the worker scales (no container name, no fixed host port), host
ports bind loopback, and the environment the worker gets is exactly what the
CLI reads from ``bridge.cli._settings``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.cli._settings import (
    BRIDGE_ADDRESS_ENV,
    ENV_DEFAULTS,
    OTLP_ENDPOINT_ENV,
    STORE_ENV,
    TASK_QUEUE_ENV,
    TEMPORAL_ADDRESS_ENV,
    WORKFLOWS_ENV,
    Settings,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def worker(compose: dict[str, Any]) -> dict[str, Any]:
    service = compose["services"]["worker"]
    assert isinstance(service, dict)
    return service


def _environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the "KEY=value" list form
        return dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def _flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


def test_services_are_all_there(compose: dict[str, Any]) -> None:
    images = {name: svc.get("image", "") for name, svc in compose["services"].items()}
    assert images["postgresql"].startswith("postgres:")
    assert images["temporal"].startswith("temporalio/")
    assert images["temporal-ui"].startswith("temporalio/ui:")
    assert images["jaeger"].startswith("jaegertracing/all-in-one:")
    jaeger_ports = {str(port).rsplit(":", 1)[-1] for port in compose["services"]["jaeger"]["ports"]}
    assert {"4317", "4318", "16686"} <= jaeger_ports
    for name, image in images.items():
        assert ":latest" not in image, f"{name} must pin its image tag"


def test_every_build_has_its_dockerfile(compose: dict[str, Any]) -> None:
    builds = {name: svc["build"] for name, svc in compose["services"].items() if "build" in svc}
    assert "worker" in builds
    for name, build in builds.items():
        context, dockerfile = (
            (build, "Dockerfile")
            if isinstance(build, str)
            else (build.get("context", "."), build.get("dockerfile", "Dockerfile"))
        )
        assert (ROOT / context / dockerfile).is_file(), f"service {name}: no {dockerfile}"


def test_dockerfile_installs_the_project() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in text
    assert "pip install" in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".venv" in ignored and ".git" in ignored


def test_worker_is_scalable(worker: dict[str, Any]) -> None:
    assert "container_name" not in worker
    for port in worker.get("ports", []):
        # "7600" alone lets Docker pick a host port per replica; "HOST:7600" collides.
        fixed = port.get("published") if isinstance(port, dict) else ":" in str(port)
        assert not fixed, f"worker publishes a fixed host port: {port!r}"


def test_host_ports_bind_loopback(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port!r} beyond loopback"


def test_worker_env_is_exactly_what_the_cli_reads(worker: dict[str, Any]) -> None:
    env = _environment(worker)
    assert set(env) == set(ENV_DEFAULTS)
    assert env[OTLP_ENDPOINT_ENV] == "http://jaeger:4317"
    settings = Settings.from_env(env)
    assert settings.temporal_address == env[TEMPORAL_ADDRESS_ENV]
    assert settings.bridge_address == env[BRIDGE_ADDRESS_ENV]
    assert settings.store == env[STORE_ENV]
    assert settings.task_queue == env[TASK_QUEUE_ENV]
    assert settings.workflows == env[WORKFLOWS_ENV]
    assert settings.otlp_endpoint == env[OTLP_ENDPOINT_ENV]


def test_worker_command_agrees_with_its_env(worker: dict[str, Any]) -> None:
    command = worker["command"]
    assert command[:2] == ["fastcore-bridge", "worker"]
    assert "--insecure" in command
    env = _environment(worker)
    assert _flag(command, "--temporal-address") == env[TEMPORAL_ADDRESS_ENV] == "temporal:7233"
    assert _flag(command, "--bridge-address") == env[BRIDGE_ADDRESS_ENV] == "0.0.0.0:7600"
    # the samples are not part of the installed library: the worker names them
    assert _flag(command, "--workflows") == env[WORKFLOWS_ENV] == "samples.worker"


def test_dockerfile_hosts_the_samples_by_the_option() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert "COPY samples /home/fastcore/samples" in text
    assert "WORKDIR /home/fastcore" in text
    assert '"--workflows", "samples.worker"' in text
    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert not any(p.startswith("samples") for p in packages["packages"]["find"]["include"])


def test_cli_entry_point_is_declared() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["fastcore-bridge"] == "bridge.cli:main"
    cli = ROOT / "bridge" / "cli" / "_main.py"
    if cli.exists():  # the CLI takes its variable names from bridge.cli._settings
        assert "_settings" in cli.read_text()


def test_settings_defaults_and_empty_values() -> None:
    assert ENV_DEFAULTS == {
        "TEMPORAL_ADDRESS": "127.0.0.1:7233",
        "FASTCORE_BRIDGE_ADDRESS": "127.0.0.1:7600",
        "FASTCORE_STORE": "memory",
        "FASTCORE_TASK_QUEUE": "fastcore-bridge",
        "FASTCORE_WORKFLOWS": None,
        "OTEL_EXPORTER_OTLP_ENDPOINT": None,
    }
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({name: "" for name in ENV_DEFAULTS}) == Settings()
