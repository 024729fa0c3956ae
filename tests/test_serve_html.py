"""The HTML pages of `seed serve` in a real headless Chromium (Debian's chromium and chromium-driver, installed by
scripts/install-browser.sh): every page renders, every link answers, and the process form runs a job whose page
shows its status, its log and links to its outputs. Screenshots are kept in the test's folder
(SEED_SERVE_SHOTS=DIR keeps them there too, to look at)."""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).parent))
from serve_fixture import Server  # noqa: E402
from test_serve import sleeper  # noqa: E402,F401 - the fixture

pytestmark = pytest.mark.engine


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1200,900",
                     f"--user-data-dir={tmp_path / 'chromium'}"):
        options.add_argument(argument)
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or "/usr/bin/chromedriver"),
                              options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _shot(driver: Any, folder: Path, name: str) -> None:
    path = folder / f"{name}.png"
    driver.save_screenshot(str(path))
    keep = os.environ.get("SEED_SERVE_SHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(path, Path(keep) / path.name)


def _links_answer(driver: Any, server: Server) -> int:
    from selenium.webdriver.common.by import By

    hrefs = {a.get_attribute("href") for a in driver.find_elements(By.TAG_NAME, "a")}
    for href in hrefs:
        assert href.startswith(server.url), href
        answer = httpx.get(href, headers={"Accept": "text/html,*/*;q=0.8"}, timeout=60)
        assert answer.status_code == 200, (href, answer.status_code)
    return len(hrefs)


def test_the_pages_render_link_and_run_a_job_from_the_form(tmp_path: Path, sleeper: str, browser: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    server = Server(tmp_path, "--images", "serve-test-*", "--images", "python-stats-*").start()
    try:
        browser.get(server.url + "/")
        assert browser.find_element(By.TAG_NAME, "h1").text == "seed-runner"
        _shot(browser, tmp_path, "landing")
        assert _links_answer(browser, server) >= 5
        browser.find_element(By.LINK_TEXT, "Processes").click()
        rows = browser.find_elements(By.CSS_SELECTOR, "table tr")
        with server.client() as client:  # the JSON list is the oracle: other tests may add serve-test-* images
            listed = client.get("/processes").json()["processes"]
        assert len(listed) >= 2 and len(rows) == 1 + len(listed)  # a header and a row per process
        _shot(browser, tmp_path, "processes")
        _links_answer(browser, server)
        browser.find_element(By.LINK_TEXT, "Sleep").click()
        assert browser.find_element(By.TAG_NAME, "h1").text == "Sleep"
        upload = tmp_path / "hello.txt"
        upload.write_text("hello from the form\n")
        browser.find_element(By.ID, "in-SECONDS").send_keys("1")
        browser.find_element(By.ID, "in-INPUT").send_keys(str(upload))
        _shot(browser, tmp_path, "process-form")
        browser.find_element(By.ID, "run").click()
        WebDriverWait(browser, 60).until(ec.url_contains("/jobs/"))
        job_id = browser.current_url.split("/jobs/")[1].split("?")[0]
        deadline = time.monotonic() + 120
        while browser.find_element(By.ID, "status").text not in ("successful", "failed"):
            assert time.monotonic() < deadline
            time.sleep(1)  # the page refreshes itself while the job runs
        assert browser.find_element(By.ID, "status").text == "successful"
        _shot(browser, tmp_path, "job")
        assert "stdout" in browser.page_source
        copy = browser.find_element(By.CSS_SELECTOR, "#outputs a[href$='/results/COPY']").get_attribute("href")
        assert httpx.get(copy).text == "hello from the form\n"
        _links_answer(browser, server)
        browser.get(server.url + "/jobs")
        assert job_id in browser.find_element(By.TAG_NAME, "table").text
        _shot(browser, tmp_path, "jobs")
        browser.get(server.url + f"/jobs/{job_id}")
        browser.find_element(By.ID, "dismiss").click()  # the job's page: dismiss it (after a confirmation)
        WebDriverWait(browser, 10).until(ec.alert_is_present())
        browser.switch_to.alert.accept()
        WebDriverWait(browser, 60).until(ec.url_contains("/jobs?f=html"))
        assert job_id not in browser.find_element(By.TAG_NAME, "main").text
        assert httpx.get(f"{server.url}/jobs/{job_id}").status_code == 404
        browser.get(server.url + "/processes/serve-test-sleep?f=html")
        browser.find_element(By.ID, "in-SECONDS").send_keys("not a number")
        browser.find_element(By.ID, "run").click()
        WebDriverWait(browser, 30).until(lambda d: d.find_element(By.ID, "error").text)
        assert "SECONDS" in browser.find_element(By.ID, "error").text
        _shot(browser, tmp_path, "process-form-error")
    finally:
        server.stop()


def test_the_same_urls_answer_json_or_html(tmp_path: Path, sleeper: str) -> None:
    server = Server(tmp_path, "--images", "serve-test-*").start()
    try:
        with server.client() as client:
            browser_accept = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
            for path in ("/", "/conformance", "/processes", "/processes/serve-test-sleep", "/jobs"):
                assert client.get(path, headers=browser_accept).headers["content-type"].startswith("text/html")
                assert client.get(path).headers["content-type"] == "application/json"
                assert client.get(path + "?f=html").headers["content-type"].startswith("text/html")
                assert client.get(path + "?f=json", headers=browser_accept).json()
                assert client.get(path, headers={"Accept": "image/png"}).status_code == 406
            page = client.get("/processes/serve-test-sleep?f=html").text
            assert "<script>alert" not in page
    finally:
        server.stop()
