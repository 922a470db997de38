"""The links `manage.py serve` hands its children when SITE_URL is not set."""

from __future__ import annotations

import pytest

from directory.management.commands.serve import serve_host


@pytest.mark.parametrize(
    ("bind", "link"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("localhost", "localhost"),
        ("0.0.0.0", "127.0.0.1"),  # every address: links name this machine
        ("::", "127.0.0.1"),
        ("::1", "[::1]"),  # an IPv6 literal in a URL needs brackets
    ],
)
def test_links_name_a_host_a_browser_can_reach(bind: str, link: str) -> None:
    assert serve_host(bind) == link
