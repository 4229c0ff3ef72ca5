"""The generated Traditional edition (zh-Hant): conversion rules and the built HTML."""

from __future__ import annotations

import re

import pytest

from kb import hant

# How a Traditional-reading collector expects the trade's words (s2tw + project phrase table).
TRADE_TERMS = {
    "催收": "催收",
    "账龄": "賬齡",
    "长账龄": "長賬齡",
    "协催": "協催",
    "分案": "分案",
    "失联": "失聯",
    "核资": "核資",  # s2t would give the obsolete 覈資
    "跳票": "跳票",
    "老赖型": "老賴型",
    "征信": "徵信",
    "手别": "手別",
    "外访": "外訪",
    "法催": "法催",
    "保证还款型": "保證還款型",
    "失信被执行人": "失信被執行人",
    "望闻问切": "望聞問切",
    "四维模型": "四維模型",
    "冲账": "沖賬",  # s2tw alone gives 衝賬
    "台账": "台賬",
    "范某": "范某",  # a surname, not 範
    # Mainland trade and legal words stay mainland words (why s2tw, not s2twp):
    "借记卡": "借記卡",
    "个人信息保护法": "個人信息保護法",
    "短信": "短信",
    "联系人": "聯繫人",
}


@pytest.mark.parametrize(("simplified", "traditional"), sorted(TRADE_TERMS.items()))
def test_trade_terms_convert_as_collectors_expect(simplified, traditional):
    assert hant.converter().convert(simplified) == traditional


def test_phrase_table_is_well_formed_and_every_entry_is_applied():
    phrases = hant.load_phrases()
    assert phrases, "tools/kb/data/opencc_phrases.txt 为空"
    converter = hant.converter()
    for simplified, traditional in phrases.items():
        assert converter.convert(f"关于{simplified}的说明") == f"關於{traditional}的說明"


def test_bad_phrase_line_names_file_and_line(tmp_path):
    table = tmp_path / "phrases.txt"
    table.write_text("# 注释\n冲账 沖賬\n坏行\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"phrases.txt:3: 词表格式错误"):
        hant.load_phrases(table)


def test_html_conversion_touches_prose_only():
    html = (
        '<h2 id="how-to-respond">应对要点<a class="headerlink" href="#how-to-respond" title="链接到本节">¶</a></h2>'
        '<p>客户说<abbr title="逾期 1–30 天的账户">M1</abbr>，见<a href="../debtors/deadbeat/#说明">老赖型</a>：'
        "<code>账龄 = 30</code></p><pre><code>发工资()</code></pre>"
        '<img alt="流程图" src="img/流程图.png"><span class="x" data-kind="话术">话术</span>'
        "<script>var a = '说明';</script><style>.说明{}</style>"
    )
    out = hant.converter().convert_html(html)
    assert '<h2 id="how-to-respond">應對要點' in out
    assert 'title="鏈接到本節"' in out
    assert '<abbr title="逾期 1–30 天的賬戶">M1</abbr>' in out
    assert 'href="../debtors/deadbeat/#说明">老賴型</a>' in out  # URL untouched, text converted
    assert "<code>账龄 = 30</code>" in out and "<pre><code>发工资()</code></pre>" in out
    assert 'alt="流程圖" src="img/流程图.png"' in out
    assert 'data-kind="话术">話術</span>' in out  # data-* values are not labels
    assert "var a = '说明';" in out and ".说明{}" in out


@pytest.mark.slow
def test_built_call_script_card_copies_traditional_text(built_site):
    page = built_site.html("zh-Hant/scripts/first-contact/index.html")
    copied = [t for t in re.findall(r'data-clipboard-text="([^"]+)"', page)]
    assert copied, "繁体版话术卡片没有复制按钮"
    assert all("催收員" in text or "客戶" in text for text in copied)
    assert not any("催收员" in text for text in copied)


def test_pages_load_the_project_search_worker():
    page = '<script id="__config" type="application/json">{"base": "..", "search": "../assets/javascripts/workers/search.a7633da7.min.js"}</script>'
    out = hant.use_project_search_worker(page)
    assert '"search": "../assets/javascripts/workers/search-kb.js?material=search.a7633da7.min.js"' in out


def test_point_search_at_edition_rewrites_only_the_base():
    page = '<script id="__config" type="application/json">{"annotate": null, "base": "../../..", "search": "x"}</script>'
    out = hant.point_search_at_edition(page, "zh-Hant")
    assert '"base": "../../../zh-Hant/"' in out and '"search": "x"' in out


# --- the built site -----------------------------------------------------------------


def _text(html: str) -> str:
    html = re.sub(r"<(script|style|code|pre)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def _ids(html: str) -> list[str]:
    return re.findall(r'\sid="([^"]+)"', html)


@pytest.mark.slow
def test_built_zh_hant_page_is_traditional(built_site):
    zh = built_site.html("cases/lost-contact/index.html")
    hant_html = built_site.html("zh-Hant/cases/lost-contact/index.html")
    assert '<html lang="zh-Hant"' in hant_html
    title = re.search(r"<title>(.*?)</title>", hant_html).group(1)
    assert "失聯" in title and "催收知識庫" in title, title
    assert 'placeholder="搜尋"' in hant_html  # Material's own zh-Hant UI strings
    body = _text(hant_html)
    assert "失聯" in body and "聯繫" in body
    assert "案件管理" in body and "債務人類型" in body  # nav
    # No Simplified-only characters survive in the prose of the Traditional page.
    leftover = {c for c in "们这说过还时发个为对们联员长务账问" if c in body}
    assert not leftover, f"繁体页面正文里仍有简体字：{leftover}"
    # ids / anchors are those of the Simplified source; hrefs are unchanged.
    assert _ids(zh) == _ids(hant_html)
    zh_hrefs = re.findall(r'<a href="([^"]+)"', zh.split("<article", 1)[1])
    hant_hrefs = re.findall(r'<a href="([^"]+)"', hant_html.split("<article", 1)[1])
    assert [h for h in zh_hrefs if not h.startswith("http")] == [h for h in hant_hrefs if not h.startswith("http")]


@pytest.mark.slow
def test_built_zh_hant_keeps_code_and_switcher(built_site):
    zh = built_site.html("cases/lost-contact/index.html")
    hant_html = built_site.html("zh-Hant/cases/lost-contact/index.html")
    for block in re.findall(r"<code>.*?</code>", zh, flags=re.S):
        assert block in hant_html
    assert re.search(r'<a href="[./]*cases/lost-contact/" hreflang="zh"', hant_html)
    assert re.search(r'<a href="[./]*zh-Hant/cases/lost-contact/" hreflang="zh-Hant"', zh)


@pytest.mark.slow
def test_handwritten_zh_hant_page_overrides_the_generated_one(site_copy):
    site_copy.write(
        "docs/sources.zh-Hant.md",
        "---\ntitle: 來源（手寫繁體版）\ntags: [来源]\nsources: [site]\n---\n\n# 來源\n\n本頁由培訓師手寫：资讯與软体二詞保持原樣。\n",
    )
    result = site_copy.build()
    assert result.ok, result.output
    page = result.html("zh-Hant/sources/index.html")
    assert "本頁由培訓師手寫：资讯與软体二詞保持原樣。" in page  # not run through OpenCC
    assert "來源（手寫繁體版）" in page


def test_each_edition_keeps_its_own_404_page(built_site):
    # mkdocs-static-i18n renders every edition's 404 to the root; the root must stay Simplified.
    root = built_site.html("404.html")
    hant_404 = built_site.html("zh-Hant/404.html")
    assert '<html lang="zh"' in root and "<title>催收知识库" in root
    assert '<html lang="zh-Hant"' in hant_404 and "<title>催收知識庫" in hant_404


def _fake_page(src_uri="cases/a.md", markdown="# 标题\n\n正文", abs_src_path="/docs/cases/a.md"):
    from types import SimpleNamespace

    from mkdocs.structure.toc import AnchorLink

    heading = AnchorLink("联系客户", "contact", 2)
    return SimpleNamespace(file=SimpleNamespace(src_uri=src_uri, abs_src_path=abs_src_path), markdown=markdown,
                           toc=[heading], _title_from_render="标题", present_anchor_ids={"contact"})


def test_traditional_pass_reuses_the_simplified_rendering_of_the_same_markdown():
    reuse = hant.RenderReuse()
    reuse.start_pass(is_hant=False)
    zh_page = _fake_page()
    reuse.remember(zh_page, "<h2 id=\"contact\">联系客户</h2>")
    reuse.start_pass(is_hant=True)
    hant_page = _fake_page()
    assert reuse.skip_render(hant_page.markdown, hant_page) == ""  # nothing left for Python-Markdown to do
    hant_page.markdown, hant_page.toc, hant_page._title_from_render, hant_page.present_anchor_ids = "", [], None, set()
    assert reuse.restore(hant_page, "") == "<h2 id=\"contact\">联系客户</h2>"
    assert hant_page.markdown == zh_page.markdown and hant_page._title_from_render == "标题"
    assert hant_page.present_anchor_ids == {"contact"} and hant_page.toc[0].title == "联系客户"
    hant_page.toc[0].title = "聯繫客戶"  # converting the Traditional TOC must not touch the stored one
    assert zh_page.toc[0].title == "联系客户"


@pytest.mark.parametrize("page", [
    _fake_page(markdown="# 标题\n\n另一段正文"),  # the Markdown differs in this pass: render it
    _fake_page(src_uri="cases/b.md"),  # never rendered in the zh pass
    _fake_page(abs_src_path="/docs/cases/a.zh-Hant.md"),  # hand-written translation
])
def test_traditional_pass_renders_when_reuse_would_be_wrong(page):
    reuse = hant.RenderReuse()
    reuse.start_pass(is_hant=False)
    reuse.remember(_fake_page(), "<p>简体</p>")
    reuse.start_pass(is_hant=True)
    assert reuse.skip_render(page.markdown, page) == page.markdown
    assert reuse.restore(page, "<p>rendered</p>") == "<p>rendered</p>"


@pytest.mark.slow
def test_built_zh_hant_table_of_contents_is_traditional(built_site):
    toc = lambda html: re.search(r'<nav class="md-nav md-nav--secondary".*?</nav>', html, re.S).group(0)  # noqa: E731
    zh = toc(built_site.html("cases/lost-contact/index.html"))
    hant_toc = toc(built_site.html("zh-Hant/cases/lost-contact/index.html"))
    assert "联" in zh and "联" not in hant_toc and "聯" in hant_toc
    assert re.findall(r'href="([^"]+)"', zh) == re.findall(r'href="([^"]+)"', hant_toc)
