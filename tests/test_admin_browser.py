"""The Django admin in a real browser: headless Chromium driven by Selenium against a live server.

Covers what an admin does on the first day: sign in, create a token (its
secret shown once), revoke it, map a group to a role and find the member's
role in the access review, filter the audit log, and read the SCIM activity
chart. Needs Debian's ``chromium`` and ``chromium-driver`` (``.ci/run``
installs them); without them the tests skip, saying so.

``UPDATE_SCREENSHOTS=1`` also saves the token page, the mapping change and
the activity page to ``docs/img/`` for the README and the guides.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.utils.timezone import localdate
from guardian.shortcuts import assign_perm

from axon_scim.models import (
    AuditEvent,
    Organization,
    Role,
    ScimGroup,
    ScimRequestFailure,
    ScimToken,
)
from axon_scim.services import issue_token

from .factories import AccountFactory, ScimGroupFactory, ScimMembershipFactory, ScimUserFactory
from .test_activity import event

pytestmark = pytest.mark.live

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "img"
PASSWORD = "correct horse battery staple"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)

if CHROMIUM is None or CHROMEDRIVER is None:
    pytest.skip(
        "needs a browser: apt-get install -y chromium chromium-driver",
        allow_module_level=True,
    )

from selenium import webdriver  # noqa: E402  (the skip above comes first)
from selenium.common.exceptions import WebDriverException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.select import Select  # noqa: E402
from selenium.webdriver.support.wait import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium for the module, with a profile of its own."""
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def acme(transactional_db: None) -> Organization:
    """An organization with a group of one member, a role, and its admin (a superuser)."""
    organization = Organization.objects.create(slug="acme", name="Acme")
    group = ScimGroupFactory(organization=organization, display_name="Engineers")
    alice = ScimUserFactory(
        organization=organization,
        user_name="alice@acme.example",
        account=AccountFactory(username="alice"),
    )
    ScimMembershipFactory(group=group, user=alice)
    Role.objects.create(organization=organization, name="Engineer")
    admin = get_user_model().objects.create_superuser("admin", "admin@acme.example", PASSWORD)
    assign_perm("configure_sso", admin, organization)
    return organization


def sign_in(browser: Any, live_server: Any) -> None:
    browser.delete_all_cookies()
    browser.get(f"{live_server.url}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "input[type=submit]"))


def click_and_wait(browser: Any, element: Any) -> None:
    """Click a link or submit button and wait until the next page has replaced this one."""
    page = browser.find_element(By.TAG_NAME, "html")
    element.click()
    wait = WebDriverWait(browser, 15)
    wait.until(lambda _browser: is_stale(page))
    # The old page is gone; let the new one finish loading before anything reads it.
    wait.until(lambda b: b.execute_script("return document.readyState") == "complete")


def is_stale(element: Any) -> bool:
    """Whether ``element``'s page has been replaced.

    Selenium's ``staleness_of`` waits for StaleElementReferenceException; under
    load Chromium sometimes answers "Node ... does not belong to the document"
    instead, which is the same fact.
    """
    try:
        element.is_enabled()
    except WebDriverException:
        return True
    return False


def messages(browser: Any) -> list[str]:
    return [li.text for li in browser.find_elements(By.CSS_SELECTOR, "ul.messagelist li")]


def screenshot(browser: Any, name: str) -> None:
    """Save the page to docs/img/ when UPDATE_SCREENSHOTS=1 (so CI leaves the tree clean)."""
    if os.environ.get("UPDATE_SCREENSHOTS") == "1":
        browser.save_screenshot(str(SCREENSHOTS / name))


def test_an_admin_signs_in(browser: Any, live_server: Any, acme: Organization):
    sign_in(browser, live_server)

    assert browser.find_element(By.ID, "site-name").text == "Django administration"
    assert "SCIM PROVISIONING" in browser.find_element(By.ID, "content-main").text.upper()


def test_a_token_secret_shows_once_and_revoking_it_locks_the_idp_out(
    browser: Any, live_server: Any, acme: Organization
):
    sign_in(browser, live_server)
    browser.get(f"{live_server.url}/admin/axon_scim/scimtoken/add/")
    Select(browser.find_element(By.NAME, "organization")).select_by_visible_text("Acme")
    browser.find_element(By.NAME, "label").send_keys("Okta production")
    click_and_wait(browser, browser.find_element(By.NAME, "_save"))

    (shown,) = [text for text in messages(browser) if "secret" in text]
    secret = shown.rsplit(": ", 1)[1]
    assert shown.startswith("Copy the secret of token axscim_")
    screenshot(browser, "admin-token-created.png")
    browser.refresh()
    assert messages(browser) == []
    assert secret not in browser.page_source

    scim = httpx.Client(
        base_url=f"{live_server.url}/scim/v2/", headers={"Authorization": f"Bearer {secret}"}
    )
    assert scim.get("Users").status_code == 200
    token = ScimToken.objects.get(label="Okta production")
    browser.find_element(
        By.CSS_SELECTOR, f"input[name=_selected_action][value='{token.pk}']"
    ).click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("revoke_tokens")
    click_and_wait(browser, browser.find_element(By.NAME, "index"))

    assert messages(browser) == ["Revoked 1 token(s)."]
    assert scim.get("Users").status_code == 401


def test_mapping_a_group_gives_its_member_the_role_in_the_access_review(
    browser: Any, live_server: Any, acme: Organization
):
    group = ScimGroup.objects.get(display_name="Engineers")
    sign_in(browser, live_server)
    browser.get(f"{live_server.url}/admin/axon_scim/scimgroup/{group.pk}/change/")
    Select(browser.find_element(By.NAME, "role")).select_by_visible_text("Engineer")
    click_and_wait(browser, browser.find_element(By.NAME, "_save"))

    assert messages(browser) == ["The scim group “Engineers” was changed successfully."]
    row = browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr")
    assert "Engineer" in row.find_element(By.CSS_SELECTOR, "td.field-role").text
    screenshot(browser, "admin-group-mapping.png")

    browser.get(f"{live_server.url}/api/v1/scim/access-review")
    review = json.loads(browser.find_element(By.TAG_NAME, "body").text)
    assert [(r["user_name"], r["role"], r["groups"]) for r in review["results"]] == [
        ("alice@acme.example", "Engineer", [{"id": str(group.pk), "display_name": "Engineers"}])
    ]


def test_the_audit_log_filters_by_action(browser: Any, live_server: Any, acme: Organization):
    for action in ("user.created", "user.created", "group.updated"):
        AuditEvent.objects.create(organization=acme, action=action, resource_type="User")
    sign_in(browser, live_server)
    browser.get(f"{live_server.url}/admin/axon_scim/auditevent/")
    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "user.created"))

    actions = [
        td.text for td in browser.find_elements(By.CSS_SELECTOR, "#result_list td.field-action")
    ]
    assert actions == ["user.created", "user.created"]
    assert "action=user.created" in browser.current_url


def test_the_activity_page_draws_one_bar_per_kind_and_day(
    browser: Any, live_server: Any, acme: Organization
):
    today = localdate()
    for action, days_ago in [
        ("user.created", 0),
        ("user.created", 0),
        ("group.updated", 1),
        ("role.granted", 5),
        ("user.deactivated", 5),
        ("user.updated", 12),
    ]:
        event(acme, action, today - timedelta(days=days_ago))
    token, _ = issue_token(acme, label="Okta production")
    ScimRequestFailure.objects.create(
        organization=acme,
        token=token,
        method="PATCH",
        path="/scim/v2/Groups/5d0c5a8e-1b7e-4f4e-9a51-2f3c8e7d9b10",
        status=400,
        scim_type="invalidValue",
        detail='Member "0f8e" is not a user or group of this organization.',
    )
    sign_in(browser, live_server)
    browser.get(f"{live_server.url}/admin/axon_scim/organization/{acme.pk}/change/")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "a.activitylink"))

    chart = browser.find_element(By.ID, "activity-chart")
    assert chart.get_attribute("role") == "img"
    assert len(chart.find_elements(By.CSS_SELECTOR, "rect.bar")) == 5
    assert browser.find_element(By.ID, "count-users").text.split() == ["1", "users"]
    failures = browser.find_elements(By.CSS_SELECTOR, "#activity-failures tbody tr")
    assert [row.find_elements(By.TAG_NAME, "td")[4].text for row in failures] == ["invalidValue"]
    screenshot(browser, "admin-scim-activity.png")
