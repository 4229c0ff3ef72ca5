"""Fast checks of the kb rules without building a site (a fake red-line engine where needed)."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import markdown
import pytest

from kb import generated, validate
from kb.call_scripts import check_script, find_scripts, render_card
from kb.frontmatter import check_front_matter, split_front_matter
from kb.links import glossary_terms
from kb.markdown.cjk_abbr import Glossary
from kb.paths import load_vocabulary
from kb.site import Site, parse_page


def make_site(pages: dict[str, str]) -> Site:
    parsed = {path: parse_page(path, f"docs/{path}", text.encode("utf-8")) for path, text in pages.items()}
    return Site(Path("/nonexistent/docs"), "docs", parsed, set(pages), [], [], load_vocabulary())



def test_front_matter_yaml_error_names_line():
    fm = split_front_matter("---\ntitle: x\ntags: [a\nsources: [site]\n---\n正文\n", "docs/a.md")
    assert fm.error is not None and fm.error.line in (3, 4) and "格式错误" in fm.error.message


def test_front_matter_values_and_suggestions():
    fm = split_front_matter("---\ntitle: x\ntags: [债务人类形]\nsources: [site]\nstages: [M4]\n---\n", "a.md")
    messages = [p.message for p in check_front_matter(fm, "a.md", {"a.md"})]
    assert any("债务人类形" in m and "您是不是想写：债务人类型" in m for m in messages)
    assert any("M4" in m for m in messages)


def test_script_checks_and_yaml_line():
    text = "# t\n\n```call-script\nid: Bad_Id\ntitle: t\nscenario: 首次联络\nturns:\n  - 客服: 你好\n```\n"
    (script,) = find_scripts(text, "docs/a.md")
    codes = {p.code: p for p in check_script(script, set())}
    assert {"script-id-format", "script-value"} <= set(codes)
    broken = find_scripts("```call-script\nid: a\nturns:\n  - 催收员 你好: [\n```\n", "docs/a.md", first_line=10)[0]
    assert broken.error is not None and broken.error.line >= 11


def test_card_renders_traditional_speakers_as_roles():
    html = render_card({"id": "x", "title": "t", "turns": [{"催收員": "您好"}, {"第三方": "不在"}]})
    assert "call-script__turn--collector" in html and "call-script__turn--third-party" in html


def test_generators_and_unknown_marker():
    script = "```call-script\nid: s-one\ntitle: 甲\nscenario: 首次联系\nstages: [M2]\nturns:\n  - 催收员: 您好\n```\n"
    site = make_site({
        "scripts/a.md": "---\ntitle: A\ntags: [话术库]\nsources: [qikan-2022-08-collector]\n---\n" + script,
        "sources.md": "---\ntitle: 来源\ntags: [来源]\nsources: [site]\n---\n<!-- kb:generate source-pages qikan-2022-08 -->\n"
                      "<!-- kb:generate nope -->\n",
    })
    index = generated.run(site, "scripts/by-stage.md", "script-index", "by=stage")
    assert "## M2（逾期 31–60 天） {#stage-m2 data-search-exclude}" in index
    # The tables skip the Markdown pass: the page carries a placeholder until the hook splices the HTML in.
    table = generated.splice_html(markdown.markdown(index), site, "scripts/by-stage.md")
    assert '<td><a href="kb-page:scripts/a.md#s-one">甲</a></td>' in table and "<!--kb-html" not in table
    sources = generated.run(site, "sources.md", "source-pages", "qikan-2022-08")
    assert generated.splice_html(markdown.markdown(sources), site, "sources.md") == '<ul>\n<li><a href="kb-page:scripts/a.md">A</a></li>\n</ul>'
    # Another page's look-alike comment is not this page's placeholder.
    assert generated.splice_html("<!--kb-html 0-->", site, "scripts/a.md") == "<!--kb-html 0-->"
    problems = validate.check_markers(site, site.pages["sources.md"])
    assert [p.code for p in problems] == ["generator-unknown"] and problems[0].line == 7
    expanded = generated.expand_markers("a\n```\n<!-- kb:generate nope -->\n```\n", "x.md", site)
    assert "<!-- kb:generate nope -->" in expanded  # markers inside code are left alone


def test_glossary_marks_generated_html_as_markdown_marks_text():
    definitions = '*[M1]: 逾期 1–30 天\n*[协催]: 协助催收 & "陪打" &amp; 带教\n*[M3+]: 长账龄\n*[旧词]: 旧\n*[旧词]: ""\n'
    text = "边打协催边教，M1 与 M12、M3+ 不同 <旧词> & M1A &amp; &copy;"
    rendered = markdown.markdown(f"{text}\n\n{definitions}", extensions=["kb.markdown.cjk_abbr"])
    assert rendered == f"<p>{Glossary(definitions).html(text)}</p>"
    assert rendered.count("<abbr") == 3  # 协催, M1, M3+; not M12, M1A or the removed 旧词


def test_redline_findings_become_problems(monkeypatch):
    finding = SimpleNamespace(path="docs/a.md", line=3, column=5, rule="R07", severity="error",
                              message="虚假法律后果", match="坐牢", suggestion="如实说明法律程序")
    warning = SimpleNamespace(**{**finding.__dict__, "severity": "warning"})
    monkeypatch.setattr(validate, "redline_checker", lambda: (lambda text, path: [finding, warning]))
    site = make_site({"a.md": "---\ntitle: A\ntags: [合规]\nsources: [site]\n---\n再不还就坐牢\n"})
    problems = [p for p in validate.check_site(site) if p.code == "redline"]
    assert len(problems) == 1 and problems[0].line == 3 and "R07" in problems[0].message and "坐牢" in problems[0].message


def test_glossary_terms_from_headings():
    assert {"M1", "M3+", "长账龄"} <= glossary_terms("## 阶段 {#s}\n\n### M1 {#m1}\n\n### M3+ {#m3-plus}\n\n### 长账龄 {#long}\n")


@pytest.mark.parametrize("code", ["encoding", "front-matter-yaml", "script-id-duplicate", "orphan-page"])
def test_message_table_lists_every_code(code):
    from kb.problems import render_message_table

    assert f"`{code}`" in render_message_table()


def test_redline_results_are_reused_until_the_page_or_the_rules_change(monkeypatch, tmp_path):
    # `mkdocs serve` re-checks the whole site after each edit: unchanged pages must not be re-scanned.
    calls = []

    def checker(text, path):
        calls.append(text)
        return [SimpleNamespace(path=path, line=1, column=1, rule="R02", severity="error",
                                message="辱骂", match="废物", suggestion=None)] if "废物" in text else []

    rules = tmp_path / "redlines.yml"
    rules.write_text("rules: []\n", encoding="utf-8")
    monkeypatch.setattr("kb.paths.REDLINE_RULES_FILE", rules)
    page = parse_page("a.md", "docs/a.md", "---\ntitle: A\n---\n你这个废物\n".encode())
    first = validate.check_redlines(page, checker)
    assert validate.check_redlines(page, checker) == first and len(calls) == 1
    edited = parse_page("a.md", "docs/a.md", "---\ntitle: A\n---\n您好\n".encode())
    assert validate.check_redlines(edited, checker) == [] and len(calls) == 2
    rules.write_text("rules: [] # edited\n", encoding="utf-8")
    os.utime(rules, ns=(0, 1))  # a different version even within the file system's clock tick
    assert validate.check_redlines(edited, checker) == [] and len(calls) == 3


def test_checks_in_a_forked_process_find_what_the_inline_checks_find():
    from kb import mkdocs_build

    site = make_site({"a.md": "---\ntitle: A\ntags: [不存在的标签]\nsources: [site]\n---\n正文\n"})
    future = mkdocs_build.check_in_background(site)
    assert future is not None, "fork is available on Linux: the build should check in parallel"
    problems, seconds = future.result(timeout=120)
    assert problems == validate.check_site(site) and seconds >= 0
    assert any("不存在的标签" in p.message for p in problems)


def test_a_failed_render_still_reports_the_background_checks(caplog):
    from concurrent.futures import Future

    from kb import mkdocs_build

    state = mkdocs_build.BuildState()
    future = Future()
    future.set_result(([validate.problem("docs/a.md", 3, "encoding", bad_line=3)], 0.5))
    state.pending_checks = future
    with caplog.at_level("WARNING"):
        state.on_build_error()
    assert state.pending_checks is None and state.check_seconds == 0.5
    assert [r.getMessage() for r in caplog.records if "docs/a.md:3" in r.getMessage()]


def test_a_dead_checker_process_falls_back_to_checking_inline():
    from concurrent.futures import Future
    from concurrent.futures.process import BrokenProcessPool

    from kb import mkdocs_build

    state = mkdocs_build.BuildState()
    state.site = make_site({"a.md": "---\ntitle: A\ntags: [不存在的标签]\nsources: [site]\n---\n正文\n"})
    future = Future()
    future.set_exception(BrokenProcessPool("killed"))
    state.pending_checks = future
    state.collect_checks()
    assert any("不存在的标签" in p.message for p in state.problems)


def test_build_checks_reuse_findings_of_earlier_builds(monkeypatch, tmp_path):
    # A build is a new process: unchanged pages are looked up in the findings cache
    # (kb.redlines.results) instead of being checked again.
    import kb.redlines as engine

    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    validate._REDLINE_RESULTS.clear()  # as in a new process
    calls = []
    real = engine.check_markdown

    def counting(text, path, rules=None):
        calls.append(path)
        return real(text, path, rules)

    page = "---\ntitle: A\ntags: [合规]\nsources: [site]\n---\n再不还就让你坐牢。\n"
    site = make_site({"a.md": page})
    monkeypatch.setattr(validate, "redline_checker", lambda: counting)
    monkeypatch.setattr(engine, "check_markdown", counting)  # counted, and still the engine's checker
    first = [p for p in validate.check_site(site) if p.code == "redline"]
    assert first and calls == ["docs/a.md"]
    validate._REDLINE_RESULTS.clear()
    assert [p for p in validate.check_site(make_site({"a.md": page})) if p.code == "redline"] == first
    assert calls == ["docs/a.md"], "the second build found the page's findings in the cache"
    validate._REDLINE_RESULTS.clear()
    validate.check_site(make_site({"a.md": page + "新的一句。\n"}))
    assert calls == ["docs/a.md", "docs/a.md"]


def test_template_cache_only_where_it_can_be_written(monkeypatch, tmp_path):
    from kb import mkdocs_build
    from kb.mkdocs_build import STATE

    env = SimpleNamespace(bytecode_cache=None)
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "cache"))
    STATE.on_env(env)
    assert env.bytecode_cache is not None and (tmp_path / "cache" / "jinja").is_dir()

    monkeypatch.setenv("KB_NO_CACHE", "1")
    monkeypatch.setenv("KB_CACHE_DIR", str(tmp_path / "other"))
    env = SimpleNamespace(bytecode_cache=None)
    STATE.on_env(env)
    assert env.bytecode_cache is None and not (tmp_path / "other").exists()

    # An unwritable cache directory (read-only home, locked-down CI): build without the cache.
    monkeypatch.delenv("KB_NO_CACHE")
    monkeypatch.setattr(mkdocs_build.os, "access", lambda path, mode: False)
    env = SimpleNamespace(bytecode_cache=None)
    STATE.on_env(env)
    assert env.bytecode_cache is None
