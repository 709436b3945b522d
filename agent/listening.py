"""The listening socket of `verimath serve` and `verimath mcp --transport http`.

Why one place: both take their port before anything slow loads, so a busy port or a wrong host
is one line at once, not after a minute of loading a model; and both must say it the same way.
"""

from __future__ import annotations

import socket

from verimath.errors import ConfigError

__all__ = ["listening_socket"]


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to `host:port` (IPv6 when the host has a colon), for uvicorn's
    `sockets=`; a port that cannot be taken is a `ConfigError` naming the fix."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        raise ConfigError(
            f"cannot listen on {host}:{port} ({exc.strerror}); pass another --port or --host"
        ) from exc
    return sock
