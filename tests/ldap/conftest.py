from __future__ import annotations

from typing import Any

import pytest

from directory.models import LdapDirectory, Org
from directory.services.ldap_directory import ldap_configure
from tests.actors import OPERATOR
from tests.ldap_server import ADMIN_DN, ADMIN_PASSWORD, Tree


def configure(org: Org, tree: Tree, **overrides: Any) -> LdapDirectory:
    """The org's LDAP directory pointed at the test's subtree, two entries a page (so
    every sync of three users or more reads several pages)."""
    settings: dict[str, Any] = {
        "url": tree.server.url,
        "security": "none",
        "bind_dn": ADMIN_DN,
        "bind_password": ADMIN_PASSWORD,
        "user_base": tree.people,
        "group_base": tree.groups,
        "preset": "openldap",
        "page_size": 2,
    }
    settings.update(overrides)
    return ldap_configure(org=org, actor=OPERATOR, **settings)


@pytest.fixture
def ldap(org: Org, ldap_tree: Tree) -> LdapDirectory:
    return configure(org, ldap_tree)


@pytest.fixture(autouse=True)
def _ldap_on_loopback(settings: Any) -> None:
    # slapd listens on 127.0.0.1 over plain ldap://, which only development allows.
    settings.OUTBOUND_ALLOW_PRIVATE = True
