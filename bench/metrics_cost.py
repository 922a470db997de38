"""What the metrics and the request id add to each request, in microseconds: the SCIM
gate's observation (directory.metrics.scim_request_observe), in this process's registry
and in gunicorn's multiprocess files, and RequestIdMiddleware around a response.

    .venv/bin/python bench/metrics_cost.py

Best of 5 runs of 200,000 calls each; no database, no network.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "commandcenter.settings")

N = 200_000


def best(fn: object) -> float:
    return min(timeit.repeat(fn, number=N, repeat=5)) / N * 1e6  # type: ignore[arg-type]


def main() -> None:
    import django

    django.setup()
    from django.http import HttpResponse
    from django.test import RequestFactory

    from commandcenter.middleware import RequestIdMiddleware
    from directory import metrics

    mode = "multiprocess files" if os.environ.get("PROMETHEUS_MULTIPROC_DIR") else "in-process"
    ok = best(lambda: metrics.scim_request_observe(method="GET", status=200, seconds=0.012))
    refused = best(
        lambda: metrics.scim_request_observe(
            method="GET", status=401, seconds=0.003, auth_failure="invalid"
        )
    )
    print(f"| observe, {mode} | {ok:.2f} µs (a 200) | {refused:.2f} µs (a 401, two counters) |")
    if mode == "in-process":
        request = RequestFactory().get("/scim/v2/x/Users")
        response = HttpResponse()
        middleware = RequestIdMiddleware(lambda r: response)
        with_id = best(lambda: middleware(request))
        print(f"| RequestIdMiddleware | {with_id:.2f} µs | uuid4, ContextVar, X-Request-ID |")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        main()
    else:
        main()
        with tempfile.TemporaryDirectory(prefix="metrics-cost-") as folder:
            env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": folder}
            subprocess.run([sys.executable, __file__, "--child"], env=env, check=True)
