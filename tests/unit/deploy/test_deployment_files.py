"""The shipped deployment files (deploy/compose.yaml, deploy/kubernetes/, deploy/Dockerfile) hold
what they must to run as shipped: health checks and probes, a migration that waits and retries
(and, on Kubernetes, one Job per release), a TLS proxy with a published port, persistent Redis,
non-root containers with resources, Secret keys that the template provides, a versioned image,
connection pools that fit PostgreSQL, and an image built from the hashed lock without test packages."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml

from idp.settings import Settings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
KUBE = DEPLOY / "kubernetes"
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
VERSION = PROJECT["version"]
#: PostgreSQL's default max_connections.
POSTGRES_CONNECTIONS = 100
#: Packages only the tests use: none may be in the image.
TEST_ONLY = {"pytest", "pytest-timeout", "python-jose", "ruff", "mypy", "playwright", "hypothesis",
             "schemathesis", "types-pyyaml", "types-redis"}


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=~!\[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _settings_variables() -> set[str]:
    return {"IDP_" + name.upper() for name in Settings.model_fields}


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def render_kustomization(folder: Path) -> list[dict[str, Any]]:
    """The kustomization's resources with its image tags applied (what ``kubectl kustomize`` does
    for this base: resources and images)."""
    kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text(encoding="utf-8"))
    tags = {image["name"]: image["newTag"] for image in kustomization.get("images", [])}
    documents: list[dict[str, Any]] = []
    for resource in kustomization["resources"]:
        documents.extend(d for d in yaml.safe_load_all((folder / resource).read_text(encoding="utf-8")) if d)
    for document in documents:
        for container in _containers(document):
            name, _, tag = container["image"].partition(":")
            container["image"] = f"{name}:{tags.get(name, tag)}"
    return documents


def _pod_spec(document: dict[str, Any]) -> dict[str, Any] | None:
    if document["kind"] in ("Deployment", "Job"):
        return document["spec"]["template"]["spec"]
    return None


def _containers(document: dict[str, Any]) -> list[dict[str, Any]]:
    spec = _pod_spec(document)
    return [*spec.get("initContainers", []), *spec["containers"]] if spec else []


@pytest.fixture(scope="module")
def kube() -> dict[tuple[str, str], dict[str, Any]]:
    return {(d["kind"], d["metadata"]["name"]): d for d in render_kustomization(KUBE)}


def _deployment(kube: dict[tuple[str, str], dict[str, Any]]) -> dict[str, Any]:
    return kube[("Deployment", "idp")]


# --- compose -----------------------------------------------------------------------------------


def test_compose_services_are_health_checked_and_ordered(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("postgres", "redis", "idp", "proxy"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    migrate = services["migrate"]
    assert migrate["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert migrate["restart"].startswith("on-failure"), "a migration that meets a starting database must retry"
    assert migrate["command"] == ["db", "upgrade"]
    idp = services["idp"]
    assert idp["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    assert idp["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "/readyz" in " ".join(idp["healthcheck"]["test"])


def test_compose_publishes_tls_through_the_proxy(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert not any("ports" in services[name] for name in ("postgres", "redis", "idp", "migrate"))
    assert any(str(port).endswith(":443") for port in services["proxy"]["ports"])
    config_mount = next(v for v in services["proxy"]["volumes"] if "haproxy.cfg" in v)
    config = (DEPLOY / config_mount.split(":")[0]).resolve()
    text = config.read_text(encoding="utf-8")
    assert re.search(r"bind :443 ssl crt ", text) and "balance roundrobin" in text
    assert "option httpchk GET /readyz" in text
    # The client's own X-Forwarded-For is dropped; the proxy adds the address it was reached from.
    assert "del-header X-Forwarded-For" in text and "option forwardfor" in text
    env = services["idp"]["environment"]
    proxy_address = services["proxy"]["networks"]["backend"]["ipv4_address"]
    assert yaml.safe_load(env["IDP_TRUSTED_PROXIES"]) == [f"{proxy_address}/32"]


def test_compose_redis_persists(compose: dict[str, Any]) -> None:
    redis = compose["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_compose_image_is_versioned_and_pools_fit(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name in ("migrate", "idp"):
        image = services[name]["image"]
        assert image.endswith(f":${{IDP_VERSION:-{VERSION}}}"), image
    env = services["idp"]["environment"]
    workers = int(_arg(services["idp"].get("command") or _dockerfile_cmd(), "--workers"))
    per_worker = int(env["IDP_DATABASE_POOL_SIZE"]) + int(env["IDP_DATABASE_POOL_OVERFLOW"])
    assert services["idp"]["deploy"]["replicas"] * workers * per_worker < POSTGRES_CONNECTIONS
    assert set(env) <= _settings_variables(), "a variable no setting reads"


# --- Kubernetes --------------------------------------------------------------------------------


def test_kustomization_lists_the_parts(kube: dict[tuple[str, str], dict[str, Any]]) -> None:
    kinds = {kind for kind, _ in kube}
    assert {"Deployment", "Service", "Ingress", "PodDisruptionBudget", "Job", "ConfigMap"} <= kinds
    assert "Secret" not in kinds, "the Secret is a template the operator fills, never shipped filled"


def test_every_container_is_versioned_non_root_and_bounded(kube: dict[tuple[str, str], dict[str, Any]]) -> None:
    for document in kube.values():
        spec = _pod_spec(document)
        if spec is None:
            continue
        assert spec["securityContext"]["runAsNonRoot"] is True
        assert spec["securityContext"]["runAsUser"] != 0
        for container in _containers(document):
            name, _, tag = container["image"].partition(":")
            assert tag == VERSION, f"{container['image']}: the image must carry the release's version"
            assert container["securityContext"]["allowPrivilegeEscalation"] is False
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]


def test_deployment_probes_and_rollout(kube: dict[tuple[str, str], dict[str, Any]]) -> None:
    deployment = _deployment(kube)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert deployment["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    assert deployment["spec"]["replicas"] >= 3


def test_secret_references_exist_in_the_template(kube: dict[tuple[str, str], dict[str, Any]]) -> None:
    template = yaml.safe_load((KUBE / "secret.template.yaml").read_text(encoding="utf-8"))
    provided = {(template["metadata"]["name"], key) for key in template["stringData"]}
    assert all(value == "REPLACE_ME" for value in template["stringData"].values()), "no secret is committed"
    referenced = {(env["valueFrom"]["secretKeyRef"]["name"], env["valueFrom"]["secretKeyRef"]["key"])
                  for document in kube.values() for container in _containers(document)
                  for env in container.get("env", []) if "secretKeyRef" in env.get("valueFrom", {})}
    assert referenced and referenced <= provided, referenced - provided
    names = {env["name"] for document in kube.values() for container in _containers(document)
             for env in container.get("env", [])}
    config = kube[("ConfigMap", "idp")]["data"]
    assert names | set(config) <= _settings_variables(), "a variable no setting reads"


def test_migration_job_is_per_release(kube: dict[tuple[str, str], dict[str, Any]]) -> None:
    jobs = [document for (kind, _), document in kube.items() if kind == "Job"]
    assert len(jobs) == 1
    job = jobs[0]
    assert job["metadata"]["name"].endswith(VERSION), "a fixed Job name fails on the next release"
    assert job["spec"]["backoffLimit"] >= 3, "a database that is not reachable yet is retried"
    assert job["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]


def test_selectors_match_the_pods(kube: dict[tuple[str, str], dict[str, Any]]) -> None:
    deployment = _deployment(kube)
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for kind in ("PodDisruptionBudget", "Service"):
        document = next(d for (k, _), d in kube.items() if k == kind)
        selector = document["spec"]["selector"]
        selector = selector.get("matchLabels", selector)
        assert selector and selector.items() <= labels.items(), f"the {kind} selects no replica"
    pdb = next(d for (k, _), d in kube.items() if k == "PodDisruptionBudget")
    assert pdb["spec"].get("maxUnavailable") == 1 or pdb["spec"].get("minAvailable", 0) >= 2


def test_ingress_serves_the_issuer_over_tls(kube: dict[tuple[str, str], dict[str, Any]]) -> None:
    ingress = next(d for (k, _), d in kube.items() if k == "Ingress")
    issuer_host = kube[("ConfigMap", "idp")]["data"]["IDP_ISSUER"].removeprefix("https://")
    assert issuer_host in ingress["spec"]["tls"][0]["hosts"]
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    service = kube[("Service", backend["name"])]
    assert backend["port"]["name"] in {port["name"] for port in service["spec"]["ports"]}


def test_kubernetes_pools_fit_postgres(kube: dict[tuple[str, str], dict[str, Any]]) -> None:
    deployment = _deployment(kube)
    config = kube[("ConfigMap", "idp")]["data"]
    workers = int(_arg(deployment["spec"]["template"]["spec"]["containers"][0]["args"], "--workers"))
    per_worker = int(config["IDP_DATABASE_POOL_SIZE"]) + int(config["IDP_DATABASE_POOL_OVERFLOW"])
    replicas = deployment["spec"]["replicas"]
    assert replicas * workers * per_worker < POSTGRES_CONNECTIONS, "the steady state must fit the default limit"


def test_no_promise_of_redis_sentinel() -> None:
    # The settings read one redis:// URL; nothing in the files may promise Sentinel support.
    for path in [*KUBE.glob("*.yaml"), DEPLOY / "compose.yaml"]:
        text = path.read_text(encoding="utf-8").lower()
        assert "sentinel" not in text or "sentinel is not supported" in text, path.name


# --- image -------------------------------------------------------------------------------------


def _dockerfile_stages() -> dict[str, list[str]]:
    stages: dict[str, list[str]] = {}
    current: list[str] = []
    for line in (DEPLOY / "Dockerfile").read_text(encoding="utf-8").splitlines():
        match = re.match(r"FROM \S+(?: AS (\S+))?", line)
        if match:
            current = stages.setdefault(match.group(1) or f"stage{len(stages)}", [])
        if current is not None and line and not line.startswith("#"):
            current.append(line)
    return stages


def _dockerfile_cmd() -> list[str]:
    line = next(line for line in _dockerfile_stages()["runtime"] if line.startswith("CMD "))
    return yaml.safe_load(line.removeprefix("CMD "))


def _arg(args: list[str], option: str) -> str:
    return args[args.index(option) + 1]


def test_image_is_built_from_the_lock_as_non_root() -> None:
    stages = _dockerfile_stages()
    build = "\n".join(stages["build"])
    assert "--require-hashes" in build and "requirements.lock" in build
    assert "--no-deps ." in build, "the project itself must not resolve dependencies outside the lock"
    runtime = stages["runtime"]
    user = [line.split()[1] for line in runtime if line.startswith("USER ")]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert not any("softhsm" in line.lower() for line in runtime), "SoftHSM belongs in the test image"


def test_lock_pins_every_dependency_with_hashes_and_no_test_package() -> None:
    text = (DEPLOY / "requirements.lock").read_text(encoding="utf-8")
    pins = dict(re.findall(r"^([A-Za-z0-9._-]+)==(\S+) \\$", text, re.M))
    names = {name.lower().replace("_", "-") for name in pins}
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.strip())
    assert all("--hash=sha256:" in block for block in blocks), "every pin carries its hashes"
    missing = {_name(requirement) for requirement in PROJECT["dependencies"]} - names
    assert not missing, f"run deploy/update-lock.sh: {sorted(missing)} not in deploy/requirements.lock"
    assert not names & TEST_ONLY, sorted(names & TEST_ONLY)
    assert "/" not in "".join(line for line in text.splitlines() if not line.strip().startswith("#"))
