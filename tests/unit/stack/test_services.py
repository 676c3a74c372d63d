from collections import Counter

from retail.settings import Settings, StackSettings
from retail.stack.services import CONF_TEMPLATES, build_services, render


def test_every_service_has_its_own_ports():
    services = build_services(Settings())

    counts = Counter(port for svc in services for port in svc.ports)

    assert [port for port, n in counts.items() if n > 1] == []
    declared = {v for k, v in StackSettings().model_dump().items() if k.endswith("_port")}
    assert set(counts) == declared


def test_ports_follow_settings(monkeypatch):
    monkeypatch.setenv("RETAIL_STACK__KAFKA_PORT", "19092")

    kafka = next(s for s in build_services(Settings()) if s.name == "kafka")

    assert kafka.ports[0] == 19092
    assert kafka.address == "127.0.0.1:19092"


def test_jvm_services_state_their_heap():
    services = build_services(Settings())

    for svc in services:
        if svc.command[0] == "java":
            assert f"-Xmx{svc.heap_mb}m" in svc.command, svc.name


def test_templates_render_without_leftover_placeholders(tmp_path):
    values = {
        "host": "127.0.0.1",
        "port": 1,
        "controller_port": 2,
        "storage_port": 3,
        "data_dir": tmp_path,
        "namenode_rpc_port": 4,
        "namenode_http_port": 5,
        "datanode_port": 6,
        "datanode_http_port": 7,
        "datanode_ipc_port": 8,
        "user": "retail",
    }
    for service in ("kafka", "hadoop", "cassandra"):
        render(CONF_TEMPLATES / service, tmp_path / service, values)

    rendered = [p for p in tmp_path.rglob("*") if p.is_file()]

    assert len(rendered) >= 7
    assert not [p for p in rendered if "${" in p.read_text()]
    assert "127.0.0.1:2" in (tmp_path / "kafka/server.properties").read_text()
