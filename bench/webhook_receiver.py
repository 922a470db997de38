"""A slow webhook receiver for the benchmark: answers every POST with 204 after DELAY
seconds, on 127.0.0.1 only, and prints how many it received when it stops (SIGTERM)."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

received = 0
lock = threading.Lock()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.2)
    args = parser.parse_args()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            global received
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            time.sleep(args.delay)
            with lock:
                received += 1
            self.send_response(204)
            self.end_headers()

        def log_message(self, *_: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)

    def stop(*_: Any) -> None:
        print(f"deliveries received: {received}", flush=True)
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    server.serve_forever()
    sys.exit(0)


if __name__ == "__main__":
    main()
