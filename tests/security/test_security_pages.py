"""FAB's user and role pages in words: names and "Active", and what each role may do."""

from __future__ import annotations

import re

from app.security.views import business_permissions
from tests.conftest import login_page


def test_users_list_shows_role_names_and_account_state_not_python_values(client):
    login_page(client, "admin")
    html = client.get("/users/list/").get_data(as_text=True)
    table = html.split("<table", 1)[1]
    assert "QC Analyst" in table and "Active" in table
    assert not re.search(r">\s*(\[\]|True|False|None)\s*<", table)


def test_roles_list_says_what_each_role_may_do_in_business_words(client):
    login_page(client, "admin")
    html = client.get("/roles/list/").get_data(as_text=True)
    assert "What it may do" in html and "Who holds it" in html
    assert "<strong>QC session</strong>: see, enter" in html
    assert "can this form get" not in html and "UserInfoEditView" not in html


def test_business_permissions_come_from_the_role_matrix():
    qp = dict(business_permissions("QP"))
    assert "release" in qp["Batch"] and "see" in qp["Batch"]
    assert business_permissions("Admin") == [("Everything", "configuration, users and roles")]
