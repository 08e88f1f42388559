"""docker-compose.yml and what it mounts, checked without Docker: the services, the files, the
gateway's config, and that Prometheus and Grafana point where the gateway serves."""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml

from palisade.config import load_config

ROOT = Path(__file__).parents[1]


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    return data


def mounts(service: dict[str, Any]) -> dict[str, Path]:
    """Container path -> the repo file of each bind mount."""
    out = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        if source.startswith("./"):
            out[target] = ROOT / source
    return out


def test_the_services_and_their_files() -> None:
    services = compose()["services"]
    assert set(services) == {"gateway", "mock", "redis", "prometheus", "grafana"}
    for name, service in services.items():
        for target, source in mounts(service).items():
            assert source.exists(), f"{name} mounts {source} at {target}: missing"
        assert "image" in service or "build" in service, name
    assert services["gateway"]["build"] == "."
    assert (ROOT / "Dockerfile").exists()


def test_the_gateway_config_is_valid_and_reaches_mock_and_redis() -> None:
    services = compose()["services"]
    gateway = services["gateway"]
    config_path = mounts(gateway)["/etc/palisade/palisade.yaml"]
    assert gateway["command"][-1] == "/etc/palisade/palisade.yaml"
    config = load_config(config_path)
    assert config.server.host == "0.0.0.0"
    assert f"{config.server.port}:{config.server.port}" in gateway["ports"]
    assert config.logging.format == "json"
    redis = urlsplit(config.store.redis_url or "")
    assert redis.hostname in services
    mock_port = services["mock"]["command"][services["mock"]["command"].index("--port") + 1]
    mocks = [p for p in config.providers if p.name.startswith("mock")]
    assert mocks
    for provider in mocks:
        url = urlsplit(provider.base_url)
        assert (url.hostname, str(url.port)) == ("mock", mock_port)
    # The metrics port: exposed on the compose network, not published on the host.
    assert config.metrics.port is not None
    assert str(config.metrics.port) in [str(p) for p in gateway["expose"]]
    assert not any(str(config.metrics.port) in str(p) for p in gateway["ports"])


def test_prometheus_scrapes_the_gateways_metrics_port() -> None:
    services = compose()["services"]
    config = load_config(mounts(services["gateway"])["/etc/palisade/palisade.yaml"])
    prometheus_yml = mounts(services["prometheus"])["/etc/prometheus/prometheus.yml"]
    scrape = yaml.safe_load(prometheus_yml.read_text())["scrape_configs"]
    (job,) = [j for j in scrape if j["job_name"] == "palisade"]
    assert job["metrics_path"] == "/metrics"
    (targets,) = [c["targets"] for c in job["static_configs"]]
    assert targets == [f"gateway:{config.metrics.port}"]
    assert "authorization" not in job or config.metrics.token is not None


def test_grafana_is_provisioned_with_prometheus_and_the_dashboard() -> None:
    grafana = mounts(compose()["services"]["grafana"])
    provisioning = grafana["/etc/grafana/provisioning"]
    (source,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yml").read_text())[
        "datasources"
    ]
    assert (source["type"], source["uid"]) == ("prometheus", "prometheus")
    assert urlsplit(source["url"]).hostname == "prometheus"
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "palisade.yml").read_text())[
        "providers"
    ]
    folder = PurePosixPath(provider["options"]["path"])
    dashboards = [t for t in grafana if PurePosixPath(t).parent == folder]
    assert dashboards == [str(folder / "palisade.json")]
    assert grafana[dashboards[0]] == ROOT / "deploy" / "grafana" / "palisade.json"


def test_the_dockerfile_builds_from_files_that_exist() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    for line in dockerfile.splitlines():
        match = re.match(r"COPY (?!--from)(.+) \S+$", line)
        if match:
            for source in match.group(1).split():
                assert (ROOT / source).exists(), source
    assert "maturin build --release" in dockerfile
    config = load_config(ROOT / "deploy" / "compose" / "palisade.yaml")
    (expose,) = re.findall(r"^EXPOSE (.*)$", dockerfile, re.M)
    assert set(expose.split()) == {str(config.server.port), str(config.metrics.port)}
