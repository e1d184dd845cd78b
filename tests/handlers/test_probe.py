"""Probes against real loopback servers: HTTP 200/302/404/500, a closed port, a slow server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from marshmallow import ValidationError

from handlers.probe import Input, Output, parse_target, probe, probe_one

SLOW_S = 1.5


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's naming
        path = self.path.split("?")[0]
        if path == "/slow":
            time.sleep(SLOW_S)
        status = {"/ok": 200, "/redirect": 302, "/missing": 404, "/fail": 500}.get(path, 200)
        try:
            self.send_response(status)
            if status == 302:
                self.send_header("Location", f"http://127.0.0.1:{closed_port()}/")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")
        except OSError:
            pass  # the probe gave up (timeout test): nothing to answer to

    def log_message(self, *args):
        pass


def closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_all_up(server):
    targets = [f"http://{server}/ok", f"http://{server}/redirect", server, f"tcp://{server}"]
    result = probe(targets, timeout_s=3)
    assert result["all_up"] is True and result["down"] == []
    assert [r["target"] for r in result["results"]] == targets
    details = [r["detail"] for r in result["results"]]
    assert details == ["HTTP 200", "HTTP 302", "conexión TCP aceptada", "conexión TCP aceptada"]
    assert all(r["elapsed_ms"] >= 0 for r in result["results"])
    Output().dump(result)


def test_http_errors_and_closed_port_are_down(server):
    port = closed_port()
    targets = [f"http://{server}/ok", f"http://{server}/fail", f"http://{server}/missing",
               f"127.0.0.1:{port}", f"http://127.0.0.1:{port}/"]
    result = probe(targets, timeout_s=3)
    assert result["all_up"] is False
    assert result["down"] == targets[1:]
    by_target = {r["target"]: r for r in result["results"]}
    assert by_target[targets[1]]["detail"] == "HTTP 500"
    assert by_target[targets[2]]["detail"] == "HTTP 404"
    assert by_target[targets[3]]["detail"] == "conexión rechazada"
    assert by_target[targets[4]]["detail"] == "conexión rechazada"


def test_slow_server_times_out(server):
    result = probe_one(f"http://{server}/slow", timeout_s=0.3)
    assert result["up"] is False
    assert result["detail"] == "sin respuesta en 0.3 s"
    assert result["elapsed_ms"] < SLOW_S * 1000


def test_targets_are_probed_concurrently(server):
    targets = [f"http://{server}/slow?{i}" for i in range(4)]
    started = time.monotonic()
    result = probe(targets, timeout_s=5)
    assert result["all_up"]
    assert time.monotonic() - started < SLOW_S * 2.5  # not 4 × SLOW_S


def test_repeated_targets_are_probed_once(server):
    result = probe([server, server], timeout_s=3)
    assert len(result["results"]) == 1 and result["all_up"]


def test_empty_list_is_all_up():
    assert probe([]) == {"down": [], "all_up": True, "results": []}


def test_bad_target_is_reported_down_not_raised():
    result = probe(["ftp://example.org", "sin-puerto"], timeout_s=1)
    assert result["down"] == ["ftp://example.org", "sin-puerto"]
    assert all(r["detail"].startswith("destino no válido") for r in result["results"])


@pytest.mark.parametrize(
    ("text", "kind", "host", "port"),
    [
        ("https://curp.gob.mx/ws", "http", "", 0),
        ("HTTP://127.0.0.1:8080", "http", "", 0),
        ("db.interno:5432", "tcp", "db.interno", 5432),
        ("tcp://10.0.0.1:22", "tcp", "10.0.0.1", 22),
        ("[::1]:443", "tcp", "::1", 443),
    ],
)
def test_parse_target(text, kind, host, port):
    target = parse_target(text)
    assert (target.kind, target.host, target.port) == (kind, host, port)


@pytest.mark.parametrize("text", ["host", "host:0", "host:99999", "host:abc", "http://", "ftp://x:21",
                                  "host:80/path", "http://host:99999/"])
def test_parse_target_rejects(text):
    with pytest.raises(ValueError):
        parse_target(text)


def test_input_schema():
    loaded = Input().load({"targets": ["https://curp.gob.mx", "db:5432"]})
    assert loaded == {"targets": ["https://curp.gob.mx", "db:5432"], "timeout_s": 5.0}
    for bad in ({"targets": []}, {"targets": ["host"]}, {}, {"targets": ["db:5432"], "timeout_s": 0}):
        with pytest.raises(ValidationError):
            Input().load(bad)


def test_overall_deadline_reports_stragglers_down(monkeypatch):
    import handlers.probe as module

    def stuck(target, timeout_s):
        time.sleep(2.5)
        return {"target": target, "up": True, "detail": "", "elapsed_ms": 0.0}

    monkeypatch.setattr(module, "probe_one", stuck)
    started = time.monotonic()
    result = module.probe(["db:5432"], timeout_s=0.2)
    assert time.monotonic() - started < 2.0  # deadline 2 × 0.2 + 1 = 1.4 s, not 2.5 s
    assert result["down"] == ["db:5432"] and result["results"][0]["detail"] == "sin respuesta en 1.4 s"
