"""Chinese search in real Chromium: queries typed into Material's search box, per edition.

One browser, one page per edition: the page is loaded once, the search worker is awaited,
then every query of tests/search_queries.yml is typed into the search box and the ranked
result pages are read from the rendered result list.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

QUERIES_FILE = Path(__file__).with_name("search_queries.yml")
EDITION_PREFIX = {"zh": "", "zh-Hant": "zh-Hant/"}

# Records the search worker's messages (Material: SETUP 0, READY 1, QUERY 2, RESULT 3) so a
# test knows when the results for the query it typed have arrived, instead of sleeping.
WORKER_PROBE = """
(() => {
  const Native = window.Worker;
  const state = window.__kbSearch = { ready: false, results: 0, query: null };
  window.Worker = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", ev => {
        const message = ev.data || {};
        if (message.type === 1) state.ready = true;
        if (message.type === 3) { state.results += 1; state.lastResultFor = state.query; }
      });
    }
    postMessage(message, ...rest) {
      if (message && message.type === 2) state.query = message.data;
      return super.postMessage(message, ...rest);
    }
  };
})();
"""


class SearchBox:
    """Material's search box on one page of one edition."""

    def __init__(self, page, base_url: str, edition: str) -> None:
        self.page = page
        self.base_url = base_url
        self.edition = edition
        self.failed: list[str] = []  # responses >= 400 (e.g. Material's sitemap.xml fetch)
        page.on("response", lambda response: response.status >= 400 and self.failed.append(response.url))
        page.add_init_script(WORKER_PROBE)
        page.goto(base_url + EDITION_PREFIX[edition])
        page.wait_for_function("() => window.__kbSearch && window.__kbSearch.ready", timeout=30_000)
        self.input = page.locator("input.md-search__input")
        self.input.click()

    def search(self, query: str, top: int = 5) -> list[str]:
        """Type ``query``; return the site paths of the first ``top`` result pages, best first."""
        before = self.page.evaluate("window.__kbSearch.results")
        # Material reads the query on keyup: fill the box (an IME would commit the whole
        # word at once), then release a key as a typist does.
        self.input.fill(query)
        self.input.press("End")
        self.page.wait_for_function(
            "([q, n]) => window.__kbSearch.results > n && window.__kbSearch.lastResultFor === q",
            arg=[query, before],
            timeout=15_000,
        )
        # Let Material render the result list from the worker's answer.
        self.page.wait_for_function(
            "() => new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(() => resolve(true))))"
        )
        hrefs = self.page.eval_on_selector_all(
            ".md-search-result__list > li.md-search-result__item",
            "items => items.map(li => li.querySelector('a.md-search-result__link').href)",
        )
        paths: list[str] = []
        for href in hrefs:
            path = href.split("?")[0].split("#")[0].replace(self.base_url, "/", 1)
            if path not in paths:
                paths.append(path)
        return paths[:top]


def page_path(doc: str, edition: str) -> str:
    """docs-relative Markdown path → the URL path of the page in an edition."""
    stem = doc[: -len(".md")]
    if stem == "index":
        stem = ""
    elif stem.endswith("/index"):
        stem = stem[: -len("/index")]
    url = f"/{EDITION_PREFIX[edition]}{stem}/" if stem else f"/{EDITION_PREFIX[edition]}"
    return url


def load_queries() -> list[dict]:
    with open(QUERIES_FILE, encoding="utf-8") as handle:
        return yaml.safe_load(handle)["queries"]


@pytest.fixture
def edition_boxes(served_site, browser_page):
    """One search page per edition, opened in the same browser context."""
    context = browser_page.page.context
    boxes = {"zh": SearchBox(browser_page.page, served_site, "zh")}
    hant_page = context.new_page()
    boxes["zh-Hant"] = SearchBox(hant_page, served_site, "zh-Hant")
    yield boxes
    hant_page.close()


@pytest.mark.browser
def test_query_table_hit_rate(edition_boxes, browser_page, served_site):
    queries = load_queries()
    assert len(queries) >= 40, "tests/search_queries.yml 至少要有 40 条查询"
    rows, hits = [], 0
    for row in queries:
        edition = row["edition"]
        expected = page_path(row["expect"], edition)
        found = edition_boxes[edition].search(row["query"])
        hit = expected in found
        hits += hit
        rank = found.index(expected) + 1 if hit else "-"
        rows.append(f"{'✓' if hit else '✗'} {edition:7} {row['query']:<12} → {row['expect']:<32} 名次 {rank}  前5: {found}")
    rate = hits / len(queries)
    print("\n搜索命中表（前 5 名）：")
    print("\n".join(rows))
    print(f"命中率：{hits}/{len(queries)} = {rate:.1%}")
    assert rate >= 0.95, f"搜索命中率 {rate:.1%} 低于 95%：\n" + "\n".join(r for r in rows if r.startswith("✗"))
    assert browser_page.external_requests(served_site) == []
    assert [url for box in edition_boxes.values() for url in box.failed] == []


@pytest.mark.browser
def test_each_edition_searches_only_its_own_pages(edition_boxes):
    hant = edition_boxes["zh-Hant"].search("賬齡", top=50)
    assert hant, "繁体版搜索“賬齡”没有结果"
    assert all(path.startswith("/zh-Hant/") for path in hant), hant
    hant_simplified_query = edition_boxes["zh-Hant"].search("协催", top=50)
    assert all(path.startswith("/zh-Hant/") for path in hant_simplified_query), hant_simplified_query
    zh = edition_boxes["zh"].search("账龄", top=50)
    assert zh, "简体版搜索“账龄”没有结果"
    assert not any(path.startswith("/zh-Hant/") for path in zh), zh
    # No duplicates: each page appears once.
    assert len(zh) == len(set(zh)) and len(hant) == len(set(hant))


@pytest.mark.browser
def test_language_switcher_keeps_the_page(browser_page, served_site):
    page = browser_page.page
    page.goto(served_site + "cases/lost-contact/")
    link = page.locator('a.md-select__link[hreflang="zh-Hant"]')
    page.goto(link.evaluate("a => a.href"))
    assert page.url == served_site + "zh-Hant/cases/lost-contact/"
    assert page.locator("html").get_attribute("lang") == "zh-Hant"
    back = page.locator('a.md-select__link[hreflang="zh"]').evaluate("a => a.href")
    assert back == served_site + "cases/lost-contact/"
