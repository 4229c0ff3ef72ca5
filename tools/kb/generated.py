"""Generated Markdown: `<!-- kb:generate NAME [ARGS] -->` markers replaced at build time.

A page holds a marker on a line of its own; the hook replaces it in `on_page_markdown`
with the Markdown a registered generator returns, so the result goes through the normal
Markdown pipeline (and MkDocs' link validation). Register a generator with
`@generator("name")`; it receives the Site, the including page's docs-relative path and
the parsed arguments, and returns Markdown or raises GeneratorError.

Lists that grow with the site (the script indexes, the pages of each source) are written as
HTML instead: Markdown's inline pass over hundreds of table cells was the largest part of
what the hooks add to a build. The Markdown carries a placeholder (`stash_html`), and the
hook splices the HTML in after rendering (`splice_html`); its page links use the
`kb-page:` scheme the hook resolves, and its terms get the glossary tooltips
(kb.markdown.cjk_abbr.Glossary) the Markdown pass would have added.
"""

from __future__ import annotations

import html
import posixpath
import re
import shlex
from functools import lru_cache
from typing import Callable

from kb.call_scripts import PAGE_LINK_SCHEME
from kb.markdown.cjk_abbr import Glossary
from kb.problems import render_message_table
from kb.site import MARKER, Site, blank_code


class GeneratorError(Exception):
    """A generator cannot run with these arguments; the message is shown to the trainer."""


Generator = Callable[[Site, str, list[str], dict[str, str]], str]
GENERATORS: dict[str, Generator] = {}


def generator(name: str) -> Callable[[Generator], Generator]:
    def register(function: Generator) -> Generator:
        GENERATORS[name] = function
        return function

    return register


def parse_args(text: str) -> tuple[list[str], dict[str, str]]:
    positional, named = [], {}
    for token in shlex.split(text):
        key, sep, value = token.partition("=")
        if sep:
            named[key] = value
        else:
            positional.append(token)
    return positional, named


def run(site: Site, page_path: str, name: str, args: str) -> str:
    """Markdown for one marker; raises KeyError for an unknown generator, GeneratorError for bad args."""
    key = (page_path, name, args)
    cache = site.generated_cache
    if key not in cache:  # validation and the default-language expansion share one run
        positional, named = parse_args(args)
        cache[key] = GENERATORS[name](site, page_path, positional, named)
    return cache[key]


def expand_markers(markdown: str, page_path: str, site: Site) -> str:
    """Replace every marker outside code with its generated Markdown.

    Problems (unknown names, bad arguments) are reported by `validate.check_markers`
    with the file's line numbers; here a failing marker is simply left out.
    """
    if "kb:generate" not in markdown:
        return markdown
    lines = markdown.split("\n")
    visible = blank_code(markdown).split("\n")
    for index, line in enumerate(visible):
        match = MARKER.match(line)
        if not match:
            continue
        try:
            lines[index] = run(site, page_path, match.group("name"), match.group("args").strip())
        except (KeyError, GeneratorError):
            lines[index] = ""
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Ready-made HTML

# Markdown leaves a blank line after a raw HTML block where it leaves none after a table or list.
_PLACEHOLDER = re.compile(r"<!--kb-html (\d+)-->(?:\n(?=\n))?")
_DEFINITION_LINE = re.compile(r"^\*\[.*$", re.M)


def stash_html(site: Site, page_path: str, fragment: str) -> str:
    """A Markdown block that stands for `fragment` on `page_path` until `splice_html` puts it back."""
    fragments = site.html_fragments.setdefault(page_path, [])
    fragments.append(fragment)
    return f"\n<!--kb-html {len(fragments) - 1}-->\n"


def splice_html(rendered: str, site: Site, page_path: str) -> str:
    """The rendered page with each of its placeholders replaced by its HTML (only this page's:
    a comment that merely looks like one elsewhere is left alone)."""
    fragments = site.html_fragments.get(page_path)
    if not fragments or "<!--kb-html " not in rendered:
        return rendered

    def fragment(match: re.Match) -> str:
        index = int(match.group(1))
        return fragments[index] if index < len(fragments) else match.group(0)

    return _PLACEHOLDER.sub(fragment, rendered)


def glossary(site: Site, page_path: str) -> Glossary:
    """The tooltips a page gets: its own `*[term]:` lines, then the auto-appended files'."""
    key = ("glossary", page_path)
    if key not in site.generated_cache:
        page = site.pages.get(page_path)
        own = "\n".join(_DEFINITION_LINE.findall(blank_code(page.text))) if page is not None else ""
        site.generated_cache[key] = Glossary(own, *_appended_texts(site))
    return site.generated_cache[key]


def _appended_texts(site: Site) -> list[str]:
    """The files pymdownx.snippets appends to every page, read once per build pass."""
    key = ("auto-append",)
    if key not in site.generated_cache:
        found = (site.snippet_file(name) for name in site.auto_append)
        site.generated_cache[key] = [f.read_text(encoding="utf-8", errors="replace") for f in found if f is not None]
    return site.generated_cache[key]


def page_link_html(to_page: str, label_html: str, fragment: str = "") -> str:
    """A link the hook resolves to `to_page`'s URL from the including page (or drops, keeping the label)."""
    target = html.escape(to_page + (f"#{fragment}" if fragment else ""), quote=True)
    return f'<a href="{PAGE_LINK_SCHEME}{target}">{label_html}</a>'


def html_table(headers: list[str], rows: list[list[str]]) -> str:
    """A table laid out as Python-Markdown's `tables` writes one; cells are HTML already."""
    out = ["<table>", "<thead>", "<tr>", *(f"<th>{cell}</th>" for cell in headers), "</tr>", "</thead>", "<tbody>"]
    for row in rows:
        out += ["<tr>", *(f"<td>{cell}</td>" for cell in row), "</tr>"]
    out += ["</tbody>", "</table>"]
    return "\n".join(out)


@lru_cache(maxsize=65536)
def _relative(to_page: str, from_dir: str) -> str:
    return posixpath.relpath(to_page, from_dir)


def link(from_page: str, to_page: str, fragment: str = "") -> str:
    relative = _relative(to_page, posixpath.dirname(from_page) or ".")
    return relative + (f"#{fragment}" if fragment else "")


def _escape_cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


# ---------------------------------------------------------------------------------------------
# script-index by=debtor-type|scenario|stage

_INDEX_COLUMNS = ("话术", "场景", "债务人类型", "阶段", "所在页面")
_UNSPECIFIED = {"debtor-type": "适用于各类债务人", "stage": "适用于各逾期阶段"}


def _stage_id(stage: str) -> str:
    return "stage-" + stage.lower().replace("+", "-plus")


@generator("script-index")
def script_index(site: Site, page_path: str, positional: list[str], named: dict[str, str]) -> str:
    by = named.get("by") or (positional[0] if positional else "")
    vocabulary = site.vocabulary
    scripts = [s for s in site.scripts if s.id and not s.error and isinstance(s.data.get("title"), str)]
    page_of = {id(s): path for path, page in site.pages.items() for s in page.scripts}
    if by == "debtor-type":
        groups = [(name, posixpath.splitext(posixpath.basename(target))[0], name)
                  for name, target in vocabulary["debtor_types"].items()]
        key = lambda s: [str(v) for v in s.data.get("debtor_types") or []]  # noqa: E731
    elif by == "stage":
        groups = [(str(stage), _stage_id(str(stage)), f"{stage}（{label}）") for stage, label in vocabulary["stages"].items()]
        key = lambda s: [str(v) for v in s.data.get("stages") or []]  # noqa: E731
    elif by == "scenario":
        groups = [(name, "", f"{name}") for name in vocabulary["call_script"]["scenarios"]]
        key = lambda s: [str(s.data.get("scenario"))]  # noqa: E731
    else:
        raise GeneratorError("需要 by=debtor-type、by=scenario 或 by=stage")
    terms = glossary(site, page_path)
    out: list[str] = []
    unspecified = [s for s in scripts if not key(s)]
    sections = [(value, anchor, heading, [s for s in scripts if value in key(s)]) for value, anchor, heading in groups]
    if unspecified and by in _UNSPECIFIED:
        sections.append(("", f"{by}-any", _UNSPECIFIED[by], unspecified))
    for value, anchor, heading, members in sections:
        if not members:
            continue
        # Out of the search index: each script is found on its own page, and these sections only
        # repeat every script's title and labels (a wall of text among the search results).
        attrs = f" {{#{anchor} data-search-exclude}}" if anchor else " {data-search-exclude}"
        out.append(f"## {heading}{attrs}\n")
        if by == "scenario" and value in vocabulary["call_script"]["scenarios"]:
            out.append(f"{vocabulary['call_script']['scenarios'][value]}\n")
        if by == "debtor-type":
            out.append(f"类型说明：[{value}]({link(page_path, vocabulary['debtor_types'][value])})\n" if value else "")
        rows = []
        for script in members:
            path = page_of[id(script)]
            rows.append([
                page_link_html(path, terms.html(str(script.data["title"])), script.id),
                terms.html(str(script.data.get("scenario", ""))),
                terms.html("、".join(map(str, script.data.get("debtor_types") or [])) or "—"),
                terms.html("、".join(map(str, script.data.get("stages") or [])) or "—"),
                page_link_html(path, terms.html(site.pages[path].title)),
            ])
        out.append(stash_html(site, page_path, html_table([terms.html(h) for h in _INDEX_COLUMNS], rows)))
    if not out:
        return "（目前还没有话术。）\n"
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------
# source-pages SOURCE_ID


@generator("source-pages")
def source_pages(site: Site, page_path: str, positional: list[str], named: dict[str, str]) -> str:
    if len(positional) != 1:
        raise GeneratorError("需要且只需要一个来源 id，例如 source-pages qikan-2022-08")
    source_id = positional[0]
    sources = site.vocabulary["sources"]
    if source_id not in sources:
        from kb.problems import suggest

        raise GeneratorError(f"来源 id {source_id} 不在受控词表中{suggest(source_id, sources)}")
    wanted = {source_id} | {key for key, value in sources.items() if value.get("parent") == source_id}
    pages = sorted(
        (page for page in site.pages.values() if wanted & {str(s) for s in page.meta.get("sources") or []}),
        key=lambda page: page.path,
    )
    if not pages:
        return "（暂无页面引用该来源。）\n"
    terms = glossary(site, page_path)
    items = "\n".join(f"<li>{page_link_html(page.path, terms.html(page.title))}</li>" for page in pages)
    return stash_html(site, page_path, f"<ul>\n{items}\n</ul>")


# ---------------------------------------------------------------------------------------------
# redline-rules


@generator("redline-rules")
def redline_rules(site: Site, page_path: str, positional: list[str], named: dict[str, str]) -> str:
    try:
        from kb.redlines import RulesError, load_rule_descriptions, render_rules_markdown
    except ImportError as exc:
        raise GeneratorError(f"红线模块 kb.redlines 不可用：{exc}") from exc
    try:
        # Descriptions only: the build's checker process compiles and validates the rules.
        return render_rules_markdown(load_rule_descriptions())
    except RulesError as exc:
        raise GeneratorError(f"无法读取红线规则：{exc}") from exc


# ---------------------------------------------------------------------------------------------
# tag-vocabulary [part=…]

_PARTS = ("front-matter", "tags", "audiences", "debtor-types", "stages", "scenarios", "speakers", "sources")
_TAG_GROUPS = {"topic": "主题", "debtor_type": "债务人类型", "stage": "逾期阶段", "audience": "读者"}


@generator("tag-vocabulary")
def tag_vocabulary(site: Site, page_path: str, positional: list[str], named: dict[str, str]) -> str:
    part = named.get("part", "all")
    if part != "all" and part not in _PARTS:
        raise GeneratorError("part 只能是 all、" + "、".join(_PARTS))
    v = site.vocabulary
    blocks: dict[str, str] = {}
    schema = v["front_matter"]
    rows = ["| 字段 | 必填 | 取值 |", "| --- | --- | --- |"]
    for key in schema["required"]:
        rows.append(f"| `{key}` | 必填 | {_FIELD_HELP.get(key, '')} |")
    for key in schema["optional"]:
        rows.append(f"| `{key}` | 可选 | {_FIELD_HELP.get(key, '')} |")
    blocks["front-matter"] = "\n".join(rows)
    blocks["tags"] = "\n".join(
        ["| 标签组 | 可用标签 |", "| --- | --- |"]
        + [f"| {_TAG_GROUPS.get(group, group)} | {'、'.join(map(str, tags))} |" for group, tags in v["tags"].items()]
    )
    blocks["audiences"] = "\n".join(["| id | 读者 |", "| --- | --- |"] + [f"| `{k}` | {n} |" for k, n in v["audiences"].items()])
    blocks["debtor-types"] = "\n".join(
        ["| 债务人类型 | 说明页 |", "| --- | --- |"]
        + [f"| {name} | [{target}]({link(page_path, target)}) |" for name, target in v["debtor_types"].items()]
    )
    blocks["stages"] = "\n".join(["| 阶段 | 含义 |", "| --- | --- |"] + [f"| {k} | {n} |" for k, n in v["stages"].items()])
    blocks["scenarios"] = "\n".join(
        ["| 话术场景 | 含义 |", "| --- | --- |"] + [f"| {k} | {n} |" for k, n in v["call_script"]["scenarios"].items()]
    )
    blocks["speakers"] = "话术中的说话人只能是：" + "、".join(v["call_script"]["speakers"]) + "。"
    blocks["sources"] = "\n".join(
        ["| 来源 id | 文档 | 标题 |", "| --- | --- | --- |"]
        + [f"| `{k}` | {s.get('document', '')} | {_escape_cell(s.get('title', ''))} |" for k, s in v["sources"].items()]
    )
    if part != "all":
        return blocks[part] + "\n"
    titles = {"front-matter": "页首元数据字段", "tags": "标签", "audiences": "读者（audience）",
              "debtor-types": "债务人类型（debtor_types）", "stages": "逾期阶段（stages）",
              "scenarios": "话术场景（scenario）", "speakers": "说话人", "sources": "来源（sources）"}
    return "\n\n".join(f"**{titles[name]}**\n\n{blocks[name]}" for name in _PARTS) + "\n"


_FIELD_HELP = {
    "title": "页面标题（文字）",
    "tags": "标签列表，只能用下方「标签」表中的标签",
    "sources": "来源 id 列表，见下方「来源」表；本站自写内容用 `site`",
    "description": "一句话简介（文字）",
    "audience": "读者 id 列表：new-collector、collector、supervisor、trainer",
    "debtor_types": "本页涉及的债务人类型名称列表",
    "stages": "本页涉及的逾期阶段列表：M1、M2、M3、M3+",
    "related": "相关页面列表，写 docs/ 下的相对路径，如 `debtors/deadbeat.md`",
    "keywords": "同事搜索时会用的日常说法，如 `[找不到人, 联系不上]`",
    "search": "Material 搜索设置，如 `{boost: 2}`",
    "hide": "Material：隐藏导航或目录，如 `[toc]`",
    "icon": "Material 页面图标",
    "status": "Material 页面状态",
    "template": "Material 模板（一般不用）",
    "generated": "构建时自动设置，请勿手写",
}


# ---------------------------------------------------------------------------------------------
# build-messages: the table of every message the checks can emit


@generator("build-messages")
def build_messages(site: Site, page_path: str, positional: list[str], named: dict[str, str]) -> str:
    return render_message_table() + "\n"
