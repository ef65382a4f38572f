"""Web origins: what a merchant may register for its publishable key, and the headers
that follow from the list (CORS, ``frame-ancestors``). Pure functions, no Flask.

An origin is ``scheme://host[:port]`` exactly as a browser sends it in ``Origin``:
lower-case scheme and host, no path, no trailing slash, the port only when it is not the
scheme's default. Only ``https`` is accepted, except ``http`` on loopback hosts
(``localhost``, ``127.0.0.1``, ``[::1]``) for development.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK = {"localhost", "127.0.0.1", "[::1]"}
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ORIGINS = 20


class InvalidOrigin(ValueError):
    pass


def normalise(text: str) -> str:
    """The canonical form of ``text``, or InvalidOrigin saying what is wrong."""
    parts = urlsplit(text.strip())
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        raise InvalidOrigin(f"{text!r} is not an origin like https://shop.example.")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise InvalidOrigin(f"{text!r} must be scheme://host[:port] without a path.")
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if "*" in host:
        raise InvalidOrigin(f"{text!r}: wildcards are not allowed.")
    if scheme == "http" and host not in LOOPBACK:
        raise InvalidOrigin(f"{text!r}: only https is allowed outside localhost.")
    try:
        port = parts.port
    except ValueError as error:
        raise InvalidOrigin(f"{text!r}: bad port.") from error
    if port is not None and port != DEFAULT_PORTS[scheme]:
        return f"{scheme}://{host}:{port}"
    return f"{scheme}://{host}"


def normalise_all(texts: list[str]) -> list[str]:
    """Canonical, de-duplicated, in the order given. Raises InvalidOrigin."""
    if len(texts) > MAX_ORIGINS:
        raise InvalidOrigin(f"At most {MAX_ORIGINS} origins may be registered.")
    result: list[str] = []
    for text in texts:
        origin = normalise(text)
        if origin not in result:
            result.append(origin)
    return result


def frame_ancestors(allowed: list[str]) -> str:
    """The ``Content-Security-Policy`` of a widget frame: only registered origins may
    embed it (``'none'`` when there are none)."""
    sources = " ".join(allowed) if allowed else "'none'"
    return f"frame-ancestors {sources}"


def cors_headers(origin: str, *, methods: str = "GET, POST, OPTIONS") -> dict[str, str]:
    """Headers that let ``origin`` (already checked against the list) read the answer."""
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Methods": methods,
        "Access-Control-Allow-Headers": "Authorization, Content-Type, Idempotency-Key, "
        "X-Jifen-Publishable-Key",
        "Access-Control-Expose-Headers": "X-Jifen-Auth-Problem",
        "Access-Control-Max-Age": "600",
        "Vary": "Origin",
    }
