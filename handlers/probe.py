"""Probe services: are these URLs and ``host:port`` endpoints up right now?

Monitoring and incident procedures ask "¿El servicio está disponible?" before escalating; the
answer routes a gateway (``all_up``) and tells the operator what is down (``down``). Targets are
probed concurrently so that one dead host costs one timeout, not one per target.

- ``http://`` / ``https://`` URL: an HTTP GET; 2xx and 3xx mean up. Redirects are not followed:
  the service answered, and following one could blame it for another host's failure. HTTPS
  certificates are verified, since an invalid certificate makes the service unusable to people.
- ``host:port`` (or ``tcp://host:port``, ``[ipv6]:port``): a TCP connection is accepted.

Environment proxies are ignored: the probe answers "is it reachable from the cauce host",
which a proxy would answer on the target's behalf.
"""

from __future__ import annotations

import concurrent.futures
import socket
import ssl
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate

__all__ = ["DEFAULT_TIMEOUT_S", "Input", "Output", "Target", "parse_target", "probe", "probe_one"]

#: Seconds a target has to connect (and, for HTTP, to answer).
DEFAULT_TIMEOUT_S = 5.0
_MAX_WORKERS = 32
_USER_AGENT = "cauce-probe/1"


@dataclass(frozen=True)
class Target:
    """A parsed target: ``kind`` is ``"http"`` (``url`` set) or ``"tcp"`` (``host``/``port``)."""

    text: str
    kind: str
    url: str = ""
    host: str = ""
    port: int = 0


def parse_target(text: str) -> Target:
    """Parse a URL or ``host:port``; ``ValueError`` in Spanish says what is wrong with it."""
    raw = str(text).strip()
    scheme = raw.split("://", 1)[0].lower() if "://" in raw else ""
    if scheme in ("http", "https"):
        parts = urlsplit(raw)
        try:
            parts.port  # noqa: B018 - raises ValueError for a non-numeric or out-of-range port
        except ValueError as exc:
            raise ValueError(f"{raw!r}: puerto no válido") from exc
        if not parts.hostname:
            raise ValueError(f"{raw!r}: la URL no tiene host")
        return Target(raw, "http", url=raw)
    if scheme not in ("", "tcp"):
        raise ValueError(f"{raw!r}: use una URL http(s):// o host:puerto")
    parts = urlsplit("//" + raw.split("://", 1)[-1])
    try:
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"{raw!r}: puerto no válido") from exc
    if not parts.hostname or port is None or port == 0 or parts.path or parts.query:
        raise ValueError(f"{raw!r}: use una URL http(s):// o host:puerto")
    return Target(raw, "tcp", host=parts.hostname, port=port)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report a 3xx as it is instead of following it (urllib then raises ``HTTPError``)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_OPENER = urllib.request.build_opener(
    urllib.request.ProxyHandler({}),
    _NoRedirect(),
    urllib.request.HTTPSHandler(context=ssl.create_default_context()),
)


def _reason(exc: BaseException, timeout_s: float) -> str:
    """A short Spanish explanation of a connection failure for the operator."""
    inner = getattr(exc, "reason", exc)
    if isinstance(inner, (TimeoutError, socket.timeout)):
        return f"sin respuesta en {timeout_s:g} s"
    if isinstance(inner, ConnectionRefusedError):
        return "conexión rechazada"
    if isinstance(inner, socket.gaierror):
        return f"el nombre no se resuelve ({inner.strerror or inner})"
    if isinstance(inner, ssl.SSLCertVerificationError):
        return f"certificado no válido ({inner.verify_message or inner})"
    return f"{type(inner).__name__}: {inner}"


def _check_http(target: Target, timeout_s: float) -> tuple[bool, str]:
    request = urllib.request.Request(target.url, method="GET", headers={"User-Agent": _USER_AGENT})
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            status = response.status
    except urllib.error.HTTPError as exc:  # 3xx (not followed), 4xx, 5xx: the server answered
        exc.close()
        status = exc.code
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return False, _reason(exc, timeout_s)
    return 200 <= status < 400, f"HTTP {status}"


def _check_tcp(target: Target, timeout_s: float) -> tuple[bool, str]:
    try:
        with socket.create_connection((target.host, target.port), timeout=timeout_s):
            return True, "conexión TCP aceptada"
    except OSError as exc:
        return False, _reason(exc, timeout_s)


def probe_one(target: str, timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Probe one target: ``{target, up, detail, elapsed_ms}``; never raises for the target's
    faults (an unparsable target is reported down with the reason, so one typo does not hide
    the state of the others)."""
    started = time.monotonic()
    try:
        parsed = parse_target(target)
    except ValueError as exc:
        up, detail = False, f"destino no válido: {exc}"
    else:
        check = _check_http if parsed.kind == "http" else _check_tcp
        up, detail = check(parsed, timeout_s)
    elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    return {"target": target, "up": up, "detail": detail, "elapsed_ms": elapsed_ms}


def probe(targets: list[str], timeout_s: float = DEFAULT_TIMEOUT_S) -> dict[str, Any]:
    """Probe every target concurrently; ``{"down": [...], "all_up": bool, "results": [...]}``.

    ``results`` follow the order of ``targets`` (repeated targets are probed once). Socket
    timeouts apply per operation, so an overall deadline of twice ``timeout_s`` (plus a second)
    bounds the call even against a server that answers one byte at a time; a target still
    running then is reported down. ``all_up`` is True for an empty list (nothing is down).
    """
    unique = list(dict.fromkeys(targets))
    if not unique:
        return {"down": [], "all_up": True, "results": []}
    deadline = 2 * timeout_s + 1
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=min(_MAX_WORKERS, len(unique)), thread_name_prefix="cauce-probe"
    )
    try:
        futures = {t: pool.submit(probe_one, t, timeout_s) for t in unique}
        concurrent.futures.wait(futures.values(), timeout=deadline)
        results = []
        for target, future in futures.items():
            if future.done():
                results.append(future.result())
            else:
                results.append({"target": target, "up": False, "elapsed_ms": round(deadline * 1000, 1),
                                "detail": f"sin respuesta en {deadline:g} s"})
    finally:
        pool.shutdown(wait=False, cancel_futures=True)  # never wait for a straggler
    down = [r["target"] for r in results if not r["up"]]
    return {"down": down, "all_up": not down, "results": results}


def _valid_target(value: str) -> bool:
    try:
        parse_target(value)
    except ValueError as exc:
        raise ValidationError(str(exc)) from exc
    return True


class Input(Schema):
    """Parameters of ``probe``: at least one well-formed target (a diagram probing nothing, or
    a typo in a target, is a modelling mistake better caught before anything runs)."""

    targets = fields.List(fields.String(validate=_valid_target), required=True,
                          validate=validate.Length(min=1))
    timeout_s = fields.Float(load_default=DEFAULT_TIMEOUT_S, validate=validate.Range(min=0.1, max=60))


class _Result(Schema):
    target = fields.String(required=True)
    up = fields.Boolean(required=True)
    detail = fields.String(required=True)
    elapsed_ms = fields.Float(required=True)


class Output(Schema):
    """Result of :func:`probe`."""

    down = fields.List(fields.String(), required=True)
    all_up = fields.Boolean(required=True)
    results = fields.List(fields.Nested(_Result), required=True)
