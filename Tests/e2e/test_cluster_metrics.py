"""The metric families a node on the bus adds (docs/protocol.md, "On a bus"): exported by an agent
and a viewer, with values that follow what the bus carries."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import append_lines, wait_for
from nats_support import bus, wait_sources  # noqa: F401 - `bus` is a fixture

REPO = Path(__file__).resolve().parents[2]


def documented_bus_families() -> set[str]:
    text = (REPO / "docs" / "protocol.md").read_text()
    section = text.split("#### On a bus", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `(tailcast_bus_[a-z_]+)", section, re.M))


def test_bus_metrics_are_exported_and_count(bus):
    documented = documented_bus_families()
    assert len(documented) == 5, documented
    nats = bus.nats_server()
    agent = bus.agent([nats.url], "web-1")
    viewer = bus.viewer([nats.url], "view-1")
    wait_sources(viewer, ["web-1/app"])
    append_lines(agent.logs["app"], [f"line {i}" for i in range(50)])

    def counted():
        a, v = agent.metrics(), viewer.metrics()
        published = a.get("tailcast_bus_messages_published_total") or 0
        received = v.get("tailcast_bus_messages_received_total") or 0
        return (a, v) if published >= 1 and received >= 1 else None

    a, v = wait_for(counted, 15, "the agent to publish and the viewer to take in a message")
    for node, m in (("agent", a), ("viewer", v)):
        exported = {n for n in m.types if n.startswith("tailcast_bus_")}
        assert exported == documented, f"{node} exports {sorted(exported)}; documented {sorted(documented)}"
        assert m.value("tailcast_bus_connected") == 1, node
    assert v.value("tailcast_bus_agents") == 1
    assert a.value("tailcast_bus_publish_failures_total") == 0
