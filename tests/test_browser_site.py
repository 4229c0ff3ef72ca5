"""The built site in a real Chromium: pages load, Chinese search finds the right page, and
nothing is requested from outside the site (intranet in mainland China)."""

from __future__ import annotations

from urllib.parse import urljoin

import pytest

from conftest import ARTIFACTS_DIR

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = ["", "cases/workflow/", "debtors/deadbeat/", "scripts/first-contact/", "tags/", "glossary/"]
# (query a collector would type, page expected among the results)
SEARCHES = [("失联", "cases/lost-contact/"), ("老赖", "debtors/deadbeat/")]
SEARCH_TIMEOUT_MS = 20_000


def screenshot(page, name: str) -> None:
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS_DIR / name), full_page=False)


def test_pages_load_without_external_requests(browser_page, served_site):
    page = browser_page.page
    for path in PAGES:
        response = page.goto(urljoin(served_site, path), wait_until="networkidle")
        assert response is not None and response.status == 200, f"{path} 无法打开"
        assert page.locator("h1").first.inner_text().strip(), f"{path} 没有标题"
        assert page.title().endswith("催收知识库"), page.title()
        if path == "":
            screenshot(page, "home.png")
    assert not browser_page.external_requests(served_site), browser_page.external_requests(served_site)
    assert len(browser_page.requests) > len(PAGES)  # the recorder really saw the page loads


@pytest.mark.parametrize(("query", "expected"), SEARCHES, ids=[f"q{i}" for i in range(len(SEARCHES))])
def test_chinese_search_finds_the_page(browser_page, served_site, query, expected):
    page = browser_page.page
    page.goto(served_site, wait_until="networkidle")
    search_input = page.locator("input.md-search__input")
    search_input.click()  # the header search box (desktop width)
    # Chinese is entered through an input method, not key by key: set the text, then a keyup
    # (what an IME commit produces) makes Material run the query.
    search_input.fill(query)
    search_input.press("End")
    results = page.locator(".md-search-result__item a, a.md-search-result__link")
    results.first.wait_for(state="visible", timeout=SEARCH_TIMEOUT_MS)
    hrefs = [results.nth(i).get_attribute("href") or "" for i in range(results.count())]
    screenshot(page, "search-results.png" if query == SEARCHES[0][0] else f"search-results-{expected.strip('/').replace('/', '-')}.png")
    assert any(expected in href for href in hrefs), f"搜索“{query}”没有找到 {expected}：{hrefs}"
    page.wait_for_load_state("networkidle")
    assert any("search" in url for url in browser_page.requests), "搜索索引没有加载"
    assert not browser_page.external_requests(served_site), browser_page.external_requests(served_site)


def test_recorder_flags_an_external_request(browser_page, served_site):
    """Control: the recorder does catch a request to another host (it must not pass vacuously)."""
    page = browser_page.page
    page.goto(served_site, wait_until="domcontentloaded")
    page.evaluate("() => { const img = new Image(); img.src = 'http://192.0.2.1.invalid/x.png'; }")
    page.wait_for_timeout(300)
    assert any("192.0.2.1.invalid" in url for url in browser_page.external_requests(served_site))
