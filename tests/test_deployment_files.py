"""The process files agree with the settings: every queue has a worker wherever we start them."""

import re
from pathlib import Path

import yaml
from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent


def queues_after_q(text: str) -> set[str]:
    found = set()
    for match in re.finditer(r'-Q[ ",\']+([a-z,]+)', text):
        found |= set(match.group(1).split(","))
    return found


def test_compose_runs_web_beat_and_workers_that_consume_every_queue():
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert {"web", "beat", "postgres", "redis"} <= set(services)
    consumed = set()
    for service in services.values():
        command = service.get("command") or []
        if "worker" in command:
            consumed |= set(command[command.index("-Q") + 1].split(","))
    assert consumed == set(settings.STOCKLINK_QUEUES)
    for name in ("web", "postgres", "redis", "worker-realtime", "worker-batch", "beat"):
        assert "healthcheck" in services[name], name


def test_the_native_topology_and_the_demo_consume_every_queue():
    assert queues_after_q((ROOT / "scripts" / "serve_prod.sh").read_text()) == set(
        settings.STOCKLINK_QUEUES
    )
    demo = (ROOT / "scripts" / "run_demo.sh").read_text()
    listed = re.search(r"^QUEUES=([a-z,]+)$", demo, re.M).group(1)
    assert set(listed.split(",")) == set(settings.STOCKLINK_QUEUES)
    assert '-Q "$QUEUES"' in demo
