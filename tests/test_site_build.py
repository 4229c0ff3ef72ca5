"""The real site builds with `mkdocs build --strict` and the built HTML is what staff need.

Also: the site makes no request outside itself (intranet in mainland China), stays out of
search engines, and the Markdown features the content relies on really render.
"""

from __future__ import annotations

import re
import subprocess
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
SITE_NAME = "催收知识库"
HANT_PREFIX = "zh-Hant/"  # the generated Traditional edition

# Hosts that must never appear anywhere in the built site (fonts and CDNs blocked or slow in China).
FORBIDDEN_HOSTS = ("fonts.googleapis.com", "fonts.gstatic.com", "unpkg.com", "cdn.jsdelivr.net", "jsdelivr", "cdnjs")

# Strings inside Material's own JavaScript bundle that name a CDN or an API but are only requested
# when a feature we do not use is triggered. Each entry names the trigger that the test asserts is absent.
MATERIAL_BUNDLE_ALLOWED = {
    # Mermaid is fetched from unpkg only when a page has a `.mermaid` diagram; no page may have one.
    "https://unpkg.com/mermaid@": "mermaid",
    # Polyfill fetched only when the browser lacks ResizeObserver (every supported browser has it;
    # the browser test records no such request).
    "https://unpkg.com/resize-observer-polyfill": "resize-observer",
    # Repository facts are fetched only with `repo_url` set (there is none: no `md-source` element).
    "https://api.github.com/": "repo_url",
}

# Attribute values that name a URL the browser may fetch or navigate to.
URL_ATTRIBUTES = {"src", "href", "srcset", "action", "poster", "data", "formaction", "content"}
NON_REQUEST_SCHEMES = ("data:", "mailto:", "tel:", "javascript:", "blob:")


class _NoTagLoader(yaml.SafeLoader):
    """Reads mkdocs.yml without executing its !ENV / !!python tags."""


_NoTagLoader.add_multi_constructor("!", lambda loader, suffix, node: None)
_NoTagLoader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)


def mkdocs_config() -> dict:
    return yaml.load((REPO_ROOT / "mkdocs.yml").read_text(encoding="utf-8"), Loader=_NoTagLoader)


def nav_pages(nav=None) -> list[tuple[str | None, str]]:
    """(title or None, docs-relative path) for every page in the nav."""
    nav = mkdocs_config()["nav"] if nav is None else nav
    pages = []
    for item in nav:
        if isinstance(item, str):
            pages.append((None, item))
        else:
            for title, value in item.items():
                if isinstance(value, list):
                    pages.extend(nav_pages(value))
                else:
                    pages.append((title, value))
    return pages


def built_path(doc_path: str) -> str:
    """docs-relative Markdown path → path of its HTML in the built site (use_directory_urls)."""
    stem = doc_path[: -len(".md")]
    if stem == "index" or stem.endswith("/index"):
        return stem + ".html"
    return stem + "/index.html"


def front_matter_title(doc_path: str) -> str | None:
    text = (REPO_ROOT / "docs" / doc_path).read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    return (yaml.safe_load(match.group(1)) or {}).get("title") if match else None


def html_files(site_dir: Path) -> list[Path]:
    return sorted(site_dir.rglob("*.html"))


def zh_html_files(site_dir: Path) -> list[Path]:
    return [path for path in html_files(site_dir) if not path.relative_to(site_dir).as_posix().startswith(HANT_PREFIX)]


class _UrlCollector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.urls: list[tuple[str, str, dict]] = []  # (tag, url, attributes)

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        for name, value in attrs:
            if value is None or name not in URL_ATTRIBUTES:
                continue
            if name == "content" and tag != "meta":
                continue
            if name == "srcset":
                candidates = [part.strip().split(" ")[0] for part in value.split(",")]
            else:
                candidates = [value.strip()]
            for url in candidates:
                self.urls.append((tag, url, attributes))
        style = attributes.get("style") or ""
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", style):
            self.urls.append((tag, url, attributes))


def is_allowed_absolute(tag: str, url: str, attributes: dict, own_hosts: set[str], edit_prefix: str) -> bool:
    if tag == "meta" and not url.startswith(("http://", "https://", "//")):
        return True
    if not url.startswith(("http://", "https://", "//")):
        return True  # relative, fragment, or non-request scheme handled below
    host = urlsplit(url if not url.startswith("//") else "http:" + url).hostname or ""
    if host in own_hosts:
        return True  # canonical/alternate links to the site's own URL (site_url)
    if edit_prefix and attributes.get("rel") == "edit" and url.startswith(edit_prefix):
        return True  # "编辑此页" link to the repository (only when CI sets KB_EDIT_URI)
    return False


def own_hosts() -> set[str]:
    import os

    site_url = os.environ.get("KB_SITE_URL", "http://127.0.0.1:8000/")
    return {urlsplit(site_url).hostname or "", "127.0.0.1", "localhost"}


# ----------------------------------------------------------------------------- structure


def test_every_nav_page_is_built(built_site):
    missing = [doc for _, doc in nav_pages() if not (built_site.site_dir / built_path(doc)).is_file()]
    assert not missing, f"导航中的页面没有生成：{missing}"


def test_page_titles_name_the_site(built_site):
    wrong = []
    for _, doc in nav_pages():
        html = built_site.html(built_path(doc))
        match = re.search(r"<title>(.*?)</title>", html, re.S)
        expected_title = front_matter_title(doc)
        if not match or not match.group(1).endswith(f" - {SITE_NAME}") and match.group(1) != SITE_NAME:
            wrong.append((doc, match.group(1) if match else None))
        elif expected_title and doc != "index.md" and match.group(1) != f"{expected_title} - {SITE_NAME}":
            wrong.append((doc, match.group(1)))
    assert not wrong, f"页面标题应为“页面标题 - {SITE_NAME}”：{wrong}"
    assert "<title>催收流程总览 - 催收知识库</title>" in built_site.html("cases/workflow/index.html")


def test_topic_tabs_in_navigation(built_site):
    html = built_site.html("index.html")
    tabs = re.search(r'<nav class="md-tabs".*?</nav>', html, re.S)
    assert tabs, "首页没有顶部栏目标签（navigation.tabs）"
    labels = {re.sub(r"\s+", "", label) for label in re.findall(r'class="md-tabs__link[^"]*"[^>]*>(.*?)</a>', tabs.group(0), re.S)}
    top_level = [next(iter(item)) for item in mkdocs_config()["nav"] if isinstance(item, dict)]
    for topic in ("案件管理", "债务人类型", "话术库", "团队管理", "招聘与培养", "合规"):
        assert topic in top_level
        assert topic in labels, f"顶部标签缺少“{topic}”：{sorted(labels)}"


def test_language_is_simplified_chinese(built_site):
    wrong = [
        path.relative_to(built_site.site_dir).as_posix()
        for path in zh_html_files(built_site.site_dir)
        if not re.search(r'<html lang="zh"[\s>]', path.read_text(encoding="utf-8"))
    ]
    assert not wrong, f'这些页面缺少 <html lang="zh">：{wrong[:10]}'


def test_every_page_is_noindex_including_404(built_site):
    files = html_files(built_site.site_dir)
    assert built_site.site_dir / "404.html" in files
    missing = [
        path.relative_to(built_site.site_dir).as_posix()
        for path in files
        if not re.search(r'<meta name="robots" content="noindex[^"]*">', path.read_text(encoding="utf-8"))
    ]
    assert not missing, f"这些页面缺少 noindex：{missing[:10]}"


def test_robots_txt_disallows_everything(built_site):
    lines = [line.strip() for line in built_site.html("robots.txt").splitlines() if line.strip()]
    assert "User-agent: *" in lines and "Disallow: /" in lines


def test_chinese_headings_have_stable_ids_and_permalinks(built_site):
    html = built_site.html("cases/workflow/index.html")
    assert 'class="headerlink"' in html and 'title="链接到本节"' in html
    unstable = []
    for path in zh_html_files(built_site.site_dir):
        for heading_id in re.findall(r'<h[2-6] id="([^"]+)"', path.read_text(encoding="utf-8")):
            if re.fullmatch(r"_\d+", heading_id):
                unstable.append((path.relative_to(built_site.site_dir).as_posix(), heading_id))
    assert not unstable, f"标题 id 退化为 _1/_2（会随标题顺序变化），请用 {{#english-id}}：{unstable[:10]}"


def test_tag_index_lists_pages(built_site):
    html = built_site.html("tags/index.html")
    assert html.count('class="md-tag') >= 5, "标签页没有列出标签（docs/tags.md 需要 <!-- material/tags -->）"
    assert 'href="../cases/' in html or 'href="../debtors/' in html


def test_knowledge_base_features_enabled():
    config = mkdocs_config()
    features = set(config["theme"]["features"])
    for feature in (
        "navigation.tabs", "navigation.sections", "navigation.path", "navigation.top",
        "search.suggest", "search.highlight", "content.code.copy", "content.tabs.link",
        "content.action.edit", "toc.follow",
    ):
        assert feature in features, f"mkdocs.yml 缺少 theme.features: {feature}"
    assert "navigation.instant" not in features, "navigation.instant 与语言切换不兼容"
    assert config["theme"]["language"] == "zh" and config["theme"]["font"] is False
    assert "repo_url" not in config, "repo_url 会让每个页面请求 GitHub API"
    snippets = next(ext for ext in config["markdown_extensions"] if isinstance(ext, dict) and "pymdownx.snippets" in ext)
    assert snippets["pymdownx.snippets"]["check_paths"] is True
    validation = config["validation"]
    assert set(validation["links"].values()) == {"warn"} and set(validation["nav"].values()) == {"warn"}
    assert config["strict"] is True


# ----------------------------------------------------------------------------- no external requests


def test_no_request_leaves_the_site(built_site):
    site_dir = built_site.site_dir
    import os

    edit_prefix = os.environ.get("KB_EDIT_URI", "")
    hosts = own_hosts()
    problems = []
    checked = 0
    for path in sorted(site_dir.rglob("*")):
        if path.suffix not in {".html", ".css", ".js"}:
            continue
        relative = path.relative_to(site_dir).as_posix()
        text = path.read_text(encoding="utf-8", errors="replace")
        checked += 1
        is_material_bundle = re.fullmatch(r"assets/javascripts/bundle\.[0-9a-f]+\.min\.js", relative) is not None
        scrubbed = text
        if is_material_bundle:
            for allowed in MATERIAL_BUNDLE_ALLOWED:
                scrubbed = scrubbed.replace(allowed, "")
        for host in FORBIDDEN_HOSTS:
            if host in scrubbed:
                problems.append(f"{relative}: 含有外部地址 {host}")
        if path.suffix == ".css":
            for url in re.findall(r"(?:url\(\s*['\"]?|@import\s+['\"])((?:https?:)?//[^'\")\s]+)", text):
                problems.append(f"{relative}: CSS 引用外部资源 {url}")
        if path.suffix == ".html":
            collector = _UrlCollector()
            collector.feed(text)
            for tag, url, attributes in collector.urls:
                if not is_allowed_absolute(tag, url, attributes, hosts, edit_prefix):
                    problems.append(f"{relative}: <{tag}> 指向站外 {url}")
    assert checked > 50
    assert not problems, "站点不得请求或链接站外地址：\n" + "\n".join(problems[:30])


def test_material_bundle_triggers_for_external_code_are_absent(built_site):
    """The allowed bundle strings stay dormant: no mermaid diagram, no repository widget."""
    bundles = list((built_site.site_dir / "assets" / "javascripts").glob("bundle.*.min.js"))
    assert len(bundles) == 1
    for path in html_files(built_site.site_dir):
        html = path.read_text(encoding="utf-8")
        assert 'class="mermaid"' not in html, f"{path}: mermaid 图会从 unpkg 加载脚本"
        assert 'data-md-component="source"' not in html, f"{path}: 仓库组件会请求 GitHub API"
        assert "fonts.googleapis" not in html


# ----------------------------------------------------------------------------- features in a real build

FEATURE_PAGE = """---
title: 标签
tags: [入门]
sources: [site]
---

# 标签 {#tags-title}

## 应对要点 {#how-to-respond}

## 没有显式编号的中文标题

!!! note "提示"
    普通提示框。

??? tip "展开看示例"
    折叠内容。

=== "第一步"
    先核实身份。

=== "第二步"
    再说明来意。

- [x] 已核实身份
- [ ] 已记录催记

==重点==内容。

<div class="kb-box" markdown>
**加粗**的块内 Markdown。
</div>

[跳到要点](#how-to-respond){ .kb-link }

<!-- material/tags -->
"""


@pytest.mark.slow
def test_markdown_features_render(site_copy, monkeypatch):
    """Admonitions, details, content tabs, task lists, mark, md_in_html, attr_list ids, edit link, dates."""
    edit_uri = "https://git.example.invalid/org/kb/edit/main/docs/"
    monkeypatch.setenv("KB_EDIT_URI", edit_uri)
    site_copy.write("docs/tags.md", FEATURE_PAGE)
    result = site_copy.build()
    assert result.ok, result.output
    html = result.html("tags/index.html")
    assert 'id="how-to-respond"' in html and 'href="#how-to-respond"' in html
    assert re.search(r'<h2 id="[^"_][^"]*">没有显式编号的中文标题', html), "中文标题应得到可读的 id"
    assert 'class="admonition note"' in html
    assert re.search(r'<details class="tip"', html)
    assert 'class="tabbed-set tabbed-alternate"' in html
    assert 'class="task-list-item"' in html or "task-list-item" in html
    assert "<mark>重点</mark>" in html
    assert re.search(r'<div class="kb-box">\s*<p><strong>加粗</strong>', html)
    assert 'class="kb-link"' in html
    # "编辑此页" appears when CI sets KB_EDIT_URI; the copy has no git history, yet the strict build passes
    # and shows the build date as the last update.
    assert f'href="{edit_uri}tags.md"' in html
    today = datetime.now(timezone(timedelta(hours=8)))
    assert re.search(rf'<time class="kb-updated" datetime="{today:%Y-%m-%d}T[^"]+\+08:00"[^>]*>'
                     rf'{today.year}年{today.month}月{today.day}日</time>', html), "无 git 历史时应显示构建日期"


def test_last_updated_is_the_last_commit_of_each_page_in_both_editions(built_site):
    try:
        log = subprocess.run(["git", "log", "-1", "--format=%ct", "--", "docs/cases/workflow.md"], cwd=REPO_ROOT,
                             capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        log = ""
    if not log:
        pytest.skip("这份副本没有 git 历史")
    committed = datetime.fromtimestamp(int(log), timezone(timedelta(hours=8)))
    expected = f'<time class="kb-updated" datetime="{committed.isoformat()}"'
    day = f">{committed.year}年{committed.month}月{committed.day}日</time>"
    for edition in ("", "zh-Hant/"):
        html = built_site.html(f"{edition}cases/workflow/index.html")
        assert expected in html and day in html, edition


@pytest.mark.slow
def test_missing_snippet_fails_the_build(site_copy):
    site_copy.write(
        "docs/tags.md",
        "---\ntitle: 标签\ntags: [入门]\nsources: [site]\n---\n\n# 标签\n\n--8<-- \"no-such-snippet.md\"\n",
    )
    result = site_copy.build()
    assert not result.ok
    assert "no-such-snippet.md" in result.output
