"""The benchmark's CPU accounting: bench/README.md's "what limits scenario 1" rests on it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.load import cpu_per_item, cpu_seconds

# Burns about half a second of CPU in a child of the process, then reaps it: the way
# Postgres's backends end while the postmaster lives on.
_BURN_IN_CHILD = """
import subprocess, sys
subprocess.run([sys.executable, "-c", "import time\\nt = time.process_time()\\n"
                "while time.process_time() - t < 0.5: pass"], check=True)
sys.stdin.read()
"""


def test_a_process_tree_is_charged_for_the_children_it_has_reaped() -> None:
    tree = subprocess.Popen([sys.executable, "-c", _BURN_IN_CHILD], stdin=subprocess.PIPE)
    other = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        before = cpu_seconds({"tree": tree.pid, "other": other.pid})
        deadline = 100
        while deadline:  # until the child has burnt its half second and been reaped
            after = cpu_seconds({"tree": tree.pid, "other": other.pid})
            if after["tree"] - before["tree"] >= 0.45:
                break
            subprocess.run(["sleep", "0.1"], check=True)
            deadline -= 1
        assert after["tree"] - before["tree"] >= 0.45
        assert after["other"] - before["other"] < 0.2
        assert "load client" in after
    finally:
        for p in (tree, other):
            p.communicate(b"")


def test_cpu_per_item_is_milliseconds_per_item() -> None:
    ms = cpu_per_item({"web": 1.0, "db": 2.0}, {"web": 1.5, "db": 2.1}, 100)
    assert ms == pytest.approx({"web": 5.0, "db": 1.0})
