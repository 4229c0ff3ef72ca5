"""The build hooks on small temporary sites: one clean build, one build full of mistakes.

Each full build costs seconds on the shared machine, so every mistake goes into ONE broken
site (which also proves that all problems are reported in one build), and one clean site
proves that call-script cards render and that script-id links pass `--strict`.
"""

from __future__ import annotations

import re
import shutil

import pytest

pytestmark = pytest.mark.slow

SCRIPT_PAGE = """---
title: 测试话术
tags: [话术库]
sources: [site]
---

# 测试话术

```call-script
id: test-opening
title: 首次联系：测试开场
scenario: 首次联系
debtor_types: [推脱型]
stages: [M1]
turns:
  - 催收员: 您好，请问是王先生本人吗？我是××银行委托的催收专员小李，工号 1234。
  - 客户: 是我。
  - 第三方: 他刚出去了。
notes: 要点：先核实身份。
```
"""

INDEX_PAGE = """---
title: 首页
tags: [入门]
sources: [site]
---

# 首页

见[测试开场](scripts/test.md#test-opening)。

<!-- kb:generate script-index by=stage -->
"""


def make_mini_site(site_copy, pages: dict[str, str], nav: list[str]):
    """Reduce the site copy to `pages` (keeping assets, includes and overrides) with `nav`."""
    for child in site_copy.docs.iterdir():
        if child.name in ("_includes", "_overrides", "assets"):
            continue
        shutil.rmtree(child) if child.is_dir() else child.unlink()
    config = (site_copy.root / "mkdocs.yml").read_text(encoding="utf-8")
    nav_yaml = "nav:\n" + "".join(f"  - {path}\n" for path in nav)
    config = re.sub(r"(?ms)^nav:\n.*?(?=^\S|\Z)", lambda _: nav_yaml, config)
    (site_copy.root / "mkdocs.yml").write_text(config, encoding="utf-8")
    for path, text in pages.items():
        site_copy.write(f"docs/{path}", text)


def test_clean_site_renders_cards_and_script_links(site_copy):
    evasive = "---\ntitle: 推脱型\ntags: [债务人类型]\nsources: [site]\n---\n\n# 推脱型\n"
    make_mini_site(
        site_copy,
        {"index.md": INDEX_PAGE, "scripts/test.md": SCRIPT_PAGE, "debtors/evasive.md": evasive},
        ["index.md", "scripts/test.md", "debtors/evasive.md"],
    )
    result = site_copy.build()
    assert result.ok, result.output
    html = result.html("scripts/test/index.html")
    card = html[html.index('<div class="call-script" id="test-opening"'):]
    assert "首次联系：测试开场" in card
    assert 'call-script__turn--collector' in card and 'call-script__turn--customer' in card
    assert 'call-script__turn--third-party' in card
    assert '<a href="../../debtors/evasive/">推脱型</a>' in card  # debtor type links to its page
    assert 'data-clipboard-text="催收员：您好' in card and "&#10;客户：是我。" in card
    assert "要点：先核实身份。" in card
    # The generated index links to the script's anchor.
    index = result.html("index.html")
    assert 'href="scripts/test/#test-opening"' in index
    # The index table is written as HTML: its page links are resolved and its terms keep their tooltips.
    assert '<td><a href="scripts/test/">测试话术</a></td>' in index and "kb-page:" not in index
    assert re.search(r'<td><abbr title="[^"]+">M1</abbr></td>', index)


MISTAKES = {
    # unknown front-matter reference, tag outside the vocabulary, unknown key
    "bad-meta.md": "---\ntitle: 坏元数据\ntags: [话术库, 好人型]\nsources: [qikan-2022-8]\nrelated: [debtors/deadbeet.md]\ntag: [x]\n---\n\n# 坏元数据\n\n见[首页](index.md)。\n",
    # malformed YAML front matter (line 3)
    "bad-yaml.md": "---\ntitle: 坏 YAML\ntags: [话术库\nsources: [site]\n---\n\n# 坏 YAML\n\n见[首页](index.md)。\n",
    # unknown script attribute + duplicate id + red-line phrase inside a script
    "scripts/bad-script.md": SCRIPT_PAGE.replace("notes:", "speaker: 催收员\nnotes:").replace(
        "  - 客户: 是我。", "  - 客户: 是我。\n  - 催收员: 再不还钱就让你坐牢，通知你单位领导。"
    ),
    # missing snippet + link to a missing script id + unknown generator
    "index.md": INDEX_PAGE.replace("#test-opening", "#test-openin")
    + '\n--8<-- "no-such-snippet.md"\n\n<!-- kb:generate script-indx by=stage -->\n',
    # orphan page: not in nav, nothing links to it
    "orphan.md": "---\ntitle: 孤儿\ntags: [入门]\nsources: [site]\n---\n\n# 孤儿\n",
}


def test_every_mistake_reported_in_one_build(site_copy):
    pages = dict(MISTAKES)
    pages["scripts/test.md"] = SCRIPT_PAGE
    make_mini_site(site_copy, pages, ["index.md", "scripts/test.md", "scripts/bad-script.md", "bad-meta.md", "bad-yaml.md"])
    # A non-UTF-8 (GBK) page.
    (site_copy.docs / "gbk.md").write_bytes("---\ntitle: 编码\n---\n\n# 编码错误\n".encode("gbk"))
    result = site_copy.build()
    out = result.output
    assert not result.ok
    assert "Traceback" not in out, out
    expected = [
        r"docs/bad-meta\.md:3: 页首元数据字段 tags 的取值 好人型 不在受控词表中",
        r"docs/bad-meta\.md:4: 页首元数据字段 sources 的取值 qikan-2022-8 不在受控词表中（您是不是想写：qikan-2022-08",
        r"docs/bad-meta\.md:5: related 引用的页面 debtors/deadbeet\.md 不存在",
        r"docs/bad-meta\.md:6: 页首元数据有未定义的字段 tag（您是不是想写：tags",
        r"docs/bad-yaml\.md:\d+: 页首元数据（--- 之间的 YAML）格式错误",
        r"docs/scripts/bad-script\.md:\d+: 话术块 test-opening 有未定义的属性 speaker",
        r"docs/scripts/bad-script\.md:9: 话术 id test-opening 重复：docs/scripts/test\.md:9 已经使用了这个 id"
        r"|docs/scripts/test\.md:9: 话术 id test-opening 重复：docs/scripts/bad-script\.md:9",
        r"docs/index\.md:\d+: 引入的片段文件 no-such-snippet\.md 不存在",
        r"docs/index\.md:9: 链接 scripts/test\.md#test-openin 指向的话术 id test-openin 在 scripts/test\.md 上不存在（您是不是想写：test-opening",
        r"docs/index\.md:\d+: 未知的生成标记 script-indx（您是不是想写：script-index",
        r"docs/orphan\.md: 页面既不在导航",
        r"docs/gbk\.md:2: 文件不是 UTF-8 编码",
        r"docs/scripts/bad-script\.md:\d+: 红线 R\d\d",  # red-line phrase inside a script (kb.redlines)
        r"知识库检查发现 \d+ 个问题",
    ]
    missing = [pattern for pattern in expected if not re.search(pattern, out)]
    assert not missing, f"missing messages {missing} in:\n{out}"
    # MkDocs' own anchor validation sees script ids too (it reports the same broken link).
    assert "does not contain an anchor '#test-openin'" in out or "知识库检查发现" in out
    # Nothing half-built is left looking valid.
    assert not (site_copy.site_dir / "index.html").exists()


def test_redline_phrase_in_script_fails_build_via_real_engine(site_copy):
    redlines = pytest.importorskip("kb.redlines", reason="kb.redlines (red-line engine) not installed yet")
    if not hasattr(redlines, "check_markdown"):
        pytest.skip("kb.redlines.check_markdown not available yet")
    make_mini_site(
        site_copy,
        {"index.md": INDEX_PAGE.replace("<!-- kb:generate script-index by=stage -->", ""),
         "scripts/test.md": MISTAKES["scripts/bad-script.md"].replace("speaker: 催收员\n", "")},
        ["index.md", "scripts/test.md"],
    )
    result = site_copy.build()
    assert not result.ok
    assert re.search(r"docs/scripts/test\.md:\d+: 红线 R\d\d", result.output), result.output


def test_broken_rules_file_is_one_clear_problem_not_a_crash(site_copy):
    """A trainer's typo in the rules file: named with the rule and the pattern, no traceback,
    nothing published. The 合规红线 page itself still renders from the rules' descriptions."""
    redlines_page = ("---\ntitle: 合规红线\ntags: [合规]\nsources: [site]\n---\n\n# 合规红线\n\n"
                     "<!-- kb:generate redline-rules -->\n")
    make_mini_site(
        site_copy,
        {"index.md": INDEX_PAGE.replace("<!-- kb:generate script-index by=stage -->", "见[合规红线](compliance/redlines.md)。"),
         "scripts/test.md": SCRIPT_PAGE, "compliance/redlines.md": redlines_page},
        ["index.md", "scripts/test.md", "compliance/redlines.md"],
    )
    rules_file = site_copy.root / "tools" / "kb" / "data" / "redlines.yml"
    text = rules_file.read_text(encoding="utf-8")
    broken = text.replace("        - '(打死|", "        - '((打死|", 1)
    assert broken != text
    rules_file.write_text(broken, encoding="utf-8")
    result = site_copy.build()
    assert not result.ok
    assert "Traceback" not in result.output, result.output
    assert re.search(r"tools/kb/data/redlines\.yml: 本次构建没有做红线检查——红线规则文件无效：规则 R01 的 "
                     r"match\.patterns\[0\]：不是合法的正则表达式", result.output), result.output
    assert re.search(r"知识库检查发现 1 个问题", result.output), result.output
    assert not (site_copy.site_dir / "index.html").exists()
