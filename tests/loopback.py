"""HTTP servers on loopback, for the tests that have something fetched from one (URL inputs, the Kubernetes init
container's staging, a pipeline's references): a real server in a thread, on a free port, stopped at the end."""

from __future__ import annotations

import functools
import http.server
import threading
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Callable, Iterator


@contextmanager
def serving(handler: Callable[..., http.server.BaseHTTPRequestHandler]) -> Iterator[int]:
    """A threading HTTP server of ``handler`` on 127.0.0.1, its port; shut down and closed at the end. A client
    that gave up (a timeout, a limit) is expected: it is not reported."""
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.handle_error = lambda request, address: None  # type: ignore[method-assign]
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield httpd.server_address[1]
    finally:
        httpd.shutdown()
        httpd.server_close()


def serving_folder(folder: Path) -> AbstractContextManager[int]:
    """The files of ``folder``, served as they are (``serving``)."""
    return serving(functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder)))


def text_handler(body: bytes, before: Callable[[], object] | None = None, content_type: str | None = "text/plain"
                 ) -> type[http.server.BaseHTTPRequestHandler]:
    """A handler that answers every GET with ``body`` (as ``content_type``; None: no Content-Type), once
    ``before()`` has returned (a test that holds the answer back)."""

    class Text(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the standard library's name
            if before is not None:
                before()
            self.send_response(200)
            if content_type is not None:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    return Text
