"""bot/endpoints.production.yml is loaded unchanged by compose.yaml's Rasa replicas and by
`make cluster`; Rasa stops at start-up on a ``${VAR}`` that is not set. Every variable the
file names must be set by both."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from scripts.cluster import Cluster, Ports

ROOT = Path(__file__).resolve().parents[2]
_LINES = (ROOT / "bot" / "endpoints.production.yml").read_text().splitlines()
NEEDED = {v for line in _LINES for v in re.findall(r"\$\{(\w+)\}", line.split("#", 1)[0])}  # not in comments


def test_the_file_names_its_variables():
    assert {"DB_HOST", "DB_NAME", "REDIS_HOST", "REDIS_PORT", "ACTION_ENDPOINT"} <= NEEDED


def test_compose_sets_every_variable_for_each_rasa_replica():
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    replicas = [name for name, svc in compose["services"].items()
                if "endpoints.production.yml" in " ".join(svc.get("command") or [])]
    assert len(replicas) >= 2
    for name in replicas:
        env = compose["services"][name]["environment"]
        assert NEEDED <= set(env), f"{name} lacks {sorted(NEEDED - set(env))}"


def test_the_cluster_sets_every_variable_for_its_replicas():
    cluster = Cluster(ports=Ports(18000))
    for name in ("rasa1", "rasa2"):
        env = cluster.make(name).env
        assert NEEDED <= set(env), f"{name} lacks {sorted(NEEDED - set(env))}"
        assert env["DB_HOST"].endswith(f":{cluster.ports.postgres}")
        assert env["REDIS_PORT"] == str(cluster.ports.redis)
