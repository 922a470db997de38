"""The benchmark's CPU accounting: bench/README.md's "what limits scenario 1" rests on it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from bench.load import cpu_per_item, cpu_seconds

# On "go", burns about half a second of CPU in a child, reaps it and says "reaped": the
# way Postgres's backends end while the postmaster lives on.
_BURN_IN_CHILD = """
import subprocess, sys
sys.stdin.readline()
subprocess.run([sys.executable, "-c", "import time\\nt = time.process_time()\\n"
                "while time.process_time() - t < 0.5: pass"], check=True)
print("reaped", flush=True)
sys.stdin.read()
"""


def test_a_process_tree_is_charged_for_the_children_it_has_reaped() -> None:
    tree = subprocess.Popen(
        [sys.executable, "-c", _BURN_IN_CHILD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    other = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE, text=True
    )
    assert tree.stdin is not None and tree.stdout is not None
    try:
        roots = {"tree": tree.pid, "other": other.pid}
        before = cpu_seconds(roots)
        tree.stdin.write("go\n")
        tree.stdin.flush()
        assert tree.stdout.readline() == "reaped\n"  # the burning child is gone now
        after = cpu_seconds(roots)
        assert after["tree"] - before["tree"] >= 0.45
        assert after["other"] - before["other"] < 0.2
        assert "load client" in after
    finally:
        for p in (tree, other):
            p.communicate("")


def test_cpu_per_item_is_milliseconds_per_item() -> None:
    ms = cpu_per_item({"web": 1.0, "db": 2.0}, {"web": 1.5, "db": 2.1}, 100)
    assert ms == pytest.approx({"web": 5.0, "db": 1.0})
