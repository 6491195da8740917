"""The operator console in headless Chromium, against a real easeld with real tasks."""

import http.client
import time
import urllib.error
import urllib.parse
import urllib.request

from browser_support import login, screenshot, wait_for
from easel_client import EaselClient, TaskStatus
from selenium.common.exceptions import NoAlertPresentException


def client(console, user, platform=""):
    return EaselClient(console.unix, user_id=user, platform=platform)


def cookie(browser):
    return "easel_console=" + browser.get_cookie("easel_console")["value"]


def test_login_and_a_live_overview(console, browser):
    browser.get(console.url + "/")
    assert browser.current_url.endswith("/login"), "pages need a login"
    browser.find_element("name", "key").send_keys("ek_not-a-key")
    browser.find_element("css selector", "button[type=submit]").click()
    wait_for(lambda: "not valid" in browser.find_element("id", "error").text, message="the login's refusal")
    screenshot(browser, "login")
    login(browser, console, console.operator)
    session = browser.get_cookie("easel_console")
    assert session["httpOnly"] and session["sameSite"] == "Strict"
    screenshot(browser, "overview")
    cell = lambda: browser.find_element("css selector", '[data-count="COMPLETED default-image"]').text
    before = int(cell())
    with client(console, "ovi") as easel:
        easel.grant(100)
        task = easel.create("txt2img", prompt="a lighthouse", params={"width": 64, "height": 64})
        easel.wait(task.id)
    wait_for(lambda: int(cell()) == before + 1, message="the overview to count the completed task")
    assert browser.execute_script("return performance.getEntriesByType('navigation').length") == 1, "no reload"


def test_tasks_filter_open_and_a_prompt_shown_as_text(console, browser):
    with client(console, "tia") as easel:
        easel.grant(100)
        shown = easel.wait(easel.create("txt2img", prompt="<script>alert('x')</script> a fox", params={"width": 96, "height": 64}).id)
    with client(console, "other") as easel:
        easel.grant(100)
        easel.wait(easel.create("txt2img", prompt="someone else", params={"width": 64, "height": 64}).id)
    login(browser, console, console.operator)
    browser.get(console.url + "/tasks")
    browser.find_element("name", "user").send_keys("tia")
    browser.find_element("name", "until").send_keys("0m")
    browser.find_element("css selector", "form.filters button").click()
    shown_ids = lambda: [row.get_attribute("data-task") for row in browser.find_elements("css selector", "#tasks tr[data-task]")]
    wait_for(lambda: "user=tia" in browser.current_url and shown_ids() == [shown.id], message="the filtered table")
    rows = browser.find_elements("css selector", "#tasks tr[data-task]")
    screenshot(browser, "tasks")
    rows[0].find_element("css selector", "a").click()
    wait_for(lambda: browser.find_element("id", "prompt").text == "<script>alert('x')</script> a fox", message="the prompt as text")
    try:
        browser.switch_to.alert
        raise AssertionError("the prompt ran as a script")
    except NoAlertPresentException:
        pass
    image = browser.find_element("css selector", "img.output")
    wait_for(lambda: browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth", image) == 96,
             message="the output image to load")
    assert "COMPLETED" in browser.find_element("id", "timeline").text
    assert "CAPTURE" in browser.find_element("id", "ledger").text
    screenshot(browser, "task")


def test_cancel_a_running_task_and_retry_an_expired_one(console, browser):
    login(browser, console, console.operator)
    with client(console, "cal") as easel:
        easel.grant(100)
        running = easel.create("txt2img", prompt="slow", params={"width": 64, "height": 64})
        browser.get(f"{console.url}/tasks/{running.id}")
        status = lambda: browser.find_element("css selector", "#task [data-field=status]").text
        wait_for(lambda: status() == "PROCESSING", message="the task to start, live")
        browser.find_element("id", "cancel").click()
        wait_for(lambda: status() == "CANCELED", message="the canceled status")
        assert easel.get(running.id).status == TaskStatus.TASK_STATUS_CANCELED

        easel.pause_backend("default-image", reason="test")
        expiring = easel.create("txt2img", prompt="too late", params={"width": 64, "height": 64}, start_within_ms=300)
        wait_for(lambda: easel.get(expiring.id).status == TaskStatus.TASK_STATUS_EXPIRED, message="the task to expire")
        easel.resume_backend("default-image")
    browser.get(f"{console.url}/tasks/{expiring.id}")
    browser.find_element("id", "retry").click()
    path = lambda: urllib.parse.urlparse(browser.current_url).path
    wait_for(lambda: path().startswith("/tasks/") and expiring.id not in path(), message="the retry's page")
    assert expiring.id in browser.find_element("id", "task").text, "the retry names its original"


def test_pause_a_backend_and_see_tasks_wait(console, browser):
    login(browser, console, console.operator)
    browser.get(console.url + "/backends")
    browser.find_element("css selector", '[data-backend="default-image"] input[name=reason]').send_keys("maintenance")
    browser.find_element("css selector", '[data-backend="default-image"] button.danger').click()
    wait_for(lambda: "paused" in browser.find_element("css selector", '[data-backend="default-image"]').text, message="paused")
    screenshot(browser, "backends")
    with client(console, "pat") as easel:
        easel.grant(100)
        task = easel.create("txt2img", prompt="waits", params={"width": 64, "height": 64})
        browser.get(console.url + "/tasks?user=pat")
        time.sleep(1.5)
        row_status = lambda: browser.find_element("css selector", f'[data-task="{task.id}"] [data-field=status]').text
        assert row_status() == "PENDING"
        browser.get(console.url + "/backends")
        browser.find_element("css selector", '[data-backend="default-image"] form[action$="/resume"] button').click()
        backend = lambda: browser.find_element("css selector", '[data-backend="default-image"]').text
        wait_for(lambda: "resume" in browser.current_url and "paused" not in backend(), message="resumed")
        browser.get(console.url + "/tasks?user=pat")
        wait_for(lambda: row_status() == "COMPLETED", message="the row to complete live")


def test_backends_show_their_recent_errors(console, browser):
    with client(console, "hal") as easel:
        easel.grant(100)
        failed = easel.wait(easel.create("hasty", prompt="too slow").id)
    assert failed.status == TaskStatus.TASK_STATUS_FAILED and failed.error_code == "deadline_exceeded"
    login(browser, console, console.operator)
    browser.get(console.url + "/backends")
    row = browser.find_element("css selector", '[data-backend="default-image"]')
    assert "deadline_exceeded" in row.text
    row.find_element("css selector", f'a[href="/tasks/{failed.id}"]')


def test_grant_credits_and_a_post_without_csrf_is_refused(console, browser):
    login(browser, console, console.operator)
    browser.get(console.url + "/credits?user=gus")
    browser.find_element("name", "amount").send_keys("25")
    browser.find_element("name", "reason").send_keys("welcome bonus")
    browser.find_element("id", "grant").click()
    wait_for(lambda: browser.find_element("id", "balance").text == "25", message="the new balance")
    assert "welcome bonus" in browser.find_element("id", "ledger").text
    screenshot(browser, "credits")
    browser.get(console.url + "/keys")
    assert "ops-operator" in browser.page_source and "ek_" not in browser.page_source, "no secret is shown"
    screenshot(browser, "keys")
    form = urllib.parse.urlencode({"platform": "", "user": "gus", "amount": "1000", "reason": "forged"}).encode()
    request = urllib.request.Request(console.url + "/credits/grant", data=form, headers={"Cookie": cookie(browser)})
    try:
        urllib.request.urlopen(request)
        raise AssertionError("a POST without a CSRF token went through")
    except urllib.error.HTTPError as refused:
        assert refused.code == 403
    with client(console, "gus") as easel:
        assert easel.balance().balance == 25


def test_an_admin_sees_only_its_platform_in_pages_and_events(console, browser):
    with client(console, "dee") as easel:
        easel.grant(100)
        elsewhere = easel.wait(easel.create("txt2img", prompt="default platform", params={"width": 64, "height": 64}).id)
    login(browser, console, console.web_admin)
    browser.get(console.url + "/tasks")
    assert elsewhere.id not in browser.page_source
    browser.get(f"{console.url}/tasks/{elsewhere.id}")
    assert "does not exist" in browser.page_source
    # The event stream carries only the admin's platform's tasks.
    connection = http.client.HTTPConnection(urllib.parse.urlparse(console.url).netloc, timeout=15)
    connection.request("GET", "/events", headers={"Cookie": cookie(browser)})
    stream = connection.getresponse()
    assert stream.status == 200 and stream.getheader("Content-Type") == "text/event-stream"
    with client(console, "dee") as other, client(console, "wes", platform="web") as own:
        own.grant(100)
        other.create("txt2img", prompt="not for web", params={"width": 64, "height": 64})
        mine = own.create("txt2img", prompt="for web", params={"width": 64, "height": 64})
        seen = ""
        while mine.id not in seen:
            seen += stream.readline().decode()
    assert "not for web" not in seen and '"platform":"default"' not in seen and '"platform":"web"' in seen
    connection.close()


def test_login_attempts_are_rate_limited(console):
    codes = []
    for _ in range(12):
        request = urllib.request.Request(console.url + "/login", data=b"key=ek_wrong")
        try:
            codes.append(urllib.request.urlopen(request).status)
        except urllib.error.HTTPError as error:
            codes.append(error.code)
    assert codes[0] == 401 and codes[-1] == 429, codes
