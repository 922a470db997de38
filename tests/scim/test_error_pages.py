from __future__ import annotations

import pytest
from django.test import Client

from tests.scim.conftest import assert_scim_error


@pytest.mark.django_db
def test_an_unknown_path_under_scim_is_a_scim_404_and_elsewhere_an_html_page() -> None:
    assert_scim_error(Client().get("/scim/v1/Users"), 404)
    page = Client().get("/no-such-page/")
    assert page.status_code == 404 and page["Content-Type"].startswith("text/html")
