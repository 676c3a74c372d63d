"""The dbt docs site of the published gold build, served on loopback."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

from retail.gold import current
from retail.settings import Settings


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args) -> None:
        pass


def serve_docs(settings: Settings, port: int, ready: Callable[[str], None] = lambda url: None) -> None:
    """Serves ``current/docs`` of gold on the stack's host until interrupted; raises GoldError when nothing is
    published, OSError (saying which port) when the port is taken."""
    folder = current(settings) / "docs"
    host = settings.stack.host
    try:
        server = ThreadingHTTPServer((host, port), partial(_Quiet, directory=str(folder)))
    except OSError as err:
        raise OSError(f"cannot serve on {host}:{port} ({err.strerror}): choose another with --port") from err
    ready(f"http://{host}:{port}/")
    with server, contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
