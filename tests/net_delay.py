"""Network delay in front of a real backend: a TCP proxy on loopback that holds every chunk it
carries ``delay`` seconds each way (a round trip costs twice ``delay``). Used in front of
PostgreSQL (tests/unit/storage/test_db_timeouts.py) and Redis (tests/unit/storage/test_redis_delay.py).

``delay`` may change at any time: a chunk already held keeps the delay it was held with, later
chunks take the new one; ``proxied_url`` points a backend URL at the proxy."""

from __future__ import annotations

import contextlib
import socket
import threading
import time


class DelayingProxy:
    """A TCP proxy on loopback that holds every chunk ``delay`` seconds each way, to the service
    listening on ``target_port`` of 127.0.0.1."""

    def __init__(self, target_port: int) -> None:
        self.target_port, self.delay = target_port, 0.0
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def proxied_url(self, url: str) -> str:
        """``url`` (``scheme://[user@]127.0.0.1:<target_port>/...``) sent through this proxy."""
        return url.replace(f":{self.target_port}/", f":{self.port}/", 1)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                time.sleep(self.delay)
                sink.sendall(chunk)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
            source.close()  # each socket is the source of exactly one pipe: closed once, by it

    def close(self) -> None:
        self.listener.close()
