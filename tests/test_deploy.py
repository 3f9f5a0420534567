"""Deployment files: docker-compose.yml validated by `docker-compose config` (Debian's 1.29),
and the Dockerfile read for what must hold (no Docker engine runs here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"


def _compose(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    binary = shutil.which("docker-compose")
    if binary is None:
        pytest.skip(
            "docker-compose is not installed (Debian: apt-get install docker-compose; "
            ".ci/run tries that), so the compose file cannot be validated here"
        )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "PASOKH_"))}
    return subprocess.run(
        [binary, "-f", str(COMPOSE), *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.timeout(120)
def test_compose_file_is_valid_and_wires_bot_and_indexer():
    result = _compose("config", env={"TELEGRAM_BOT_TOKEN": "123:from-env"})
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    bot, indexer = config["services"]["bot"], config["services"]["indexer"]

    assert bot["command"] == ["telegram"] and bot["restart"] == "unless-stopped"
    assert "profiles" not in bot or not bot["profiles"]
    assert bot["environment"]["TELEGRAM_BOT_TOKEN"] == "123:from-env"
    assert bot["environment"]["TELEGRAM_BOT_TOKEN_FILE"] == "/run/secrets/telegram_bot_token"
    assert bot["secrets"][0]["source"] == "telegram_bot_token"
    assert config["secrets"]["telegram_bot_token"]["file"] == "/dev/null"  # none named
    assert bot["healthcheck"]["test"][0] == "CMD" and "heartbeat" in bot["healthcheck"]["test"][-1]
    assert bot["environment"]["PASOKH_HEARTBEAT_FILE"] in bot["healthcheck"]["test"][-1]

    assert indexer["profiles"] == ["tools"]
    assert indexer["command"] == ["index", "add", "/articles"]
    assert any(v.endswith(":/articles:ro") for v in indexer["volumes"])

    volumes = {"index:/var/lib/pasokh/index:rw", "model-cache:/var/lib/pasokh/cache:rw"}
    assert volumes <= set(bot["volumes"]) and volumes <= set(indexer["volumes"])
    assert set(config["volumes"]) == {
        "index", "model-cache", "milvus-etcd", "milvus-minio", "milvus-data"
    }  # fmt: skip
    for service in (bot, indexer):
        env = service["environment"]
        assert env["PASOKH_INDEX_DIR"] == "/var/lib/pasokh/index"
        assert env["PASOKH_CACHE_DIR"] == "/var/lib/pasokh/cache"
        assert env["PASOKH_BACKEND"] == "faiss"  # the embedded index unless asked


@pytest.mark.timeout(120)
def test_compose_profiles_and_token_secret(tmp_path):
    # (1.29's `config --services` lists every service whatever its profile; the profile
    # itself is checked above)
    tools = _compose("--profile", "tools", "config", "--services")
    assert tools.returncode == 0, tools.stderr
    assert sorted(tools.stdout.split()) == [
        "bot", "indexer", "milvus", "milvus-etcd", "milvus-minio"
    ]  # fmt: skip

    secret = tmp_path / "telegram_bot_token"
    secret.write_text("123:from-a-secret\n")
    result = _compose("config", env={"TELEGRAM_BOT_TOKEN_SECRET": str(secret)})
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert config["secrets"]["telegram_bot_token"]["file"] == str(secret)
    assert config["services"]["bot"]["environment"]["TELEGRAM_BOT_TOKEN"] == ""


def test_dockerfile_builds_from_the_project_files():
    text = DOCKERFILE.read_text()
    lines = [
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "FROM python:3.11-slim"
    assert "pip install -c constraints.txt ." in text
    assert re.search(r"^USER pasokh$", text, re.M) and "useradd" in text
    assert "HEALTHCHECK" in text and "PASOKH_HEARTBEAT_FILE" in text
    assert 'VOLUME ["/var/lib/pasokh/index", "/var/lib/pasokh/cache"]' in text
    assert "PASOKH_INDEX_DIR=/var/lib/pasokh/index" in text
    assert "PASOKH_CACHE_DIR=/var/lib/pasokh/cache" in text
    assert 'ENTRYPOINT ["pasokh"]' in text and 'CMD ["telegram"]' in text
    ignored = (ROOT / ".dockerignore").read_text().split()
    for line in lines:
        if not line.startswith("COPY"):
            continue
        *sources, _target = line.split()[1:]
        for source in sources:
            if "*" in source:  # a glob may match nothing (README*)
                continue
            assert (ROOT / source).exists(), f"COPY {source}: not in the project"
            assert source not in ignored, f"COPY {source}: excluded by .dockerignore"
    # nothing fetched outside the package registries: no curl, wget or ADD of a URL
    assert not re.search(r"\b(curl|wget)\b|^ADD\s+https?://", text, re.M)


@pytest.mark.timeout(120)
def test_compose_milvus_profile_points_the_bot_at_milvus_standalone():
    result = _compose("--profile", "milvus", "config", env={"PASOKH_BACKEND": "milvus"})
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    services = config["services"]
    milvus, etcd, minio = services["milvus"], services["milvus-etcd"], services["milvus-minio"]
    for service in (milvus, etcd, minio):
        assert service["profiles"] == ["milvus"]
    assert milvus["command"] == ["milvus", "run", "standalone"]
    assert milvus["image"].startswith("milvusdb/milvus:v2.5")
    assert milvus["environment"]["ETCD_ENDPOINTS"] == "milvus-etcd:2379"
    assert milvus["environment"]["MINIO_ADDRESS"] == "milvus-minio:9000"
    assert set(milvus["depends_on"]) == {"milvus-etcd", "milvus-minio"}
    assert etcd["image"].startswith("quay.io/coreos/etcd:") and "etcd" in etcd["command"]
    assert minio["image"].startswith("minio/minio:") and "server" in minio["command"]
    assert "milvus-data:/var/lib/milvus:rw" in milvus["volumes"]
    for name in ("bot", "indexer"):
        env = services[name]["environment"]
        assert env["PASOKH_BACKEND"] == "milvus", name
        assert env["PASOKH_MILVUS_URI"] == "http://milvus:19530", name
        assert services[name]["build"]["args"]["PASOKH_EXTRAS"] == "milvus", name
