"""A real HTTP receiver for webhook tests: records what arrives, answers as told."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    status: int = 200
    received: list[Received] = field(default_factory=list)
    url: str = ""
    delay_first: float = 0  # seconds the first request hangs before it is answered

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.received.append(Received(dict(request.headers), request.get_data()))
        if self.delay_first and len(self.received) == 1:
            time.sleep(self.delay_first)
        return Response("ok" if self.status < 300 else "nope", status=self.status)(
            environ, start_response
        )


def start_receiver() -> tuple[Receiver, callable]:
    receiver = Receiver()
    server = make_server("127.0.0.1", 0, receiver, threaded=True)
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        thread.join(5)

    return receiver, stop
