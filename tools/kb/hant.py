"""Simplified → Traditional conversion for the zh-Hant edition of 催收知识库.

Trainers write Simplified Chinese only; the Traditional edition is generated at build
time. Only prose is converted: HTML text nodes and a few human-readable attributes.
Tags, attribute values such as ids/hrefs/classes, and everything inside code, pre,
script and style stay byte-identical, so anchors and links work in both editions.

OpenCC profile: ``s2tw`` (Taiwan-standard glyphs, NO vocabulary localisation).
  - Our readers are mainland staff (some trained on Traditional-script material, e.g. the
    sources 001/004, which write 信息, 數據, 短信, 賬 — mainland words in Taiwan-standard
    glyphs such as 裡, 臺, 為). s2tw reproduces exactly that.
  - s2twp would also apply Taiwan idiom conversion and change trade and legal terms:
    借记卡→簽帳金融卡, 信息→資訊 (breaking the law name《個人信息保護法》), 数据→資料,
    联系人→聯絡人, 短信→簡訊, 视频→影片, 网络→網路. Those are not the words of a
    mainland bank's collection agency, and staff would search for the mainland words.
  - s2t uses obsolete OpenCC-standard variants (核资→覈資, 里→裏); s2hk uses Hong Kong
    glyph forms (裏, 着) that our readers do not use.
The project phrase table (data/opencc_phrases.txt) fixes the few trade terms OpenCC
gets wrong; it is applied before OpenCC, longest match first.
"""

from __future__ import annotations

import copy
import re
from functools import lru_cache
from pathlib import Path

import opencc

from kb.paths import DATA_DIR, HANT_SUFFIX

PROFILE = "s2tw.json"
# The reverse direction, used to segment Traditional text like its Simplified source.
REVERSE_PROFILE = "tw2s.json"
PHRASES_FILE = DATA_DIR / "opencc_phrases.txt"

# Elements whose content is never converted (code, machine text).
SKIP_ELEMENTS = frozenset({"code", "pre", "script", "style", "kbd", "samp", "textarea"})
# Attributes that carry text shown to readers; everything else (id, href, class…) is kept.
# data-clipboard-text: the call-script card's copy button copies the dialogue itself.
TEXT_ATTRIBUTES = frozenset(
    {"title", "alt", "aria-label", "placeholder", "data-md-tooltip", "data-clipboard-text", "content"}
)
# <meta content="…"> is prose only for these names.
TEXT_META_NAMES = frozenset({"description", "keywords", "author"})

_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_TOKEN = re.compile(r"<!--.*?-->|<![^>]*>|<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:[^>\"']|\"[^\"]*\"|'[^']*')*)>", re.S)
_ATTR = re.compile(r"""([^\s=/>]+)(\s*=\s*)("[^"]*"|'[^']*')""")


def load_phrases(path: Path = PHRASES_FILE) -> dict[str, str]:
    """Read the project phrase table: ``简体<TAB>繁體`` per line, ``#`` comments."""
    phrases: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for number, raw in enumerate(handle, start=1):
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            parts = line.split()
            if len(parts) != 2:
                raise ValueError(
                    f"{path}:{number}: 词表格式错误：每行应为“简体词<Tab>繁体词”，实际为：{raw.strip()!r}"
                )
            phrases[parts[0]] = parts[1]
    return phrases


class HantConverter:
    """OpenCC s2tw plus the project phrase table, for text and for rendered HTML."""

    def __init__(self, profile: str = PROFILE, phrases: dict[str, str] | None = None) -> None:
        self._opencc = opencc.OpenCC(profile)
        self.phrases = load_phrases() if phrases is None else phrases
        keys = sorted(self.phrases, key=len, reverse=True)
        self._phrase_re = re.compile("|".join(map(re.escape, keys))) if keys else None

    def convert(self, text: str) -> str:
        """Convert plain Simplified text to Traditional (non-Han text is left alone)."""
        if not text or not _HAN.search(text):
            return text
        if self._phrase_re is None:
            return self._opencc.convert(text)
        out: list[str] = []
        position = 0
        for match in self._phrase_re.finditer(text):
            if match.start() > position:
                out.append(self._opencc.convert(text[position : match.start()]))
            out.append(self.phrases[match.group(0)])
            position = match.end()
        out.append(self._opencc.convert(text[position:]))
        return "".join(out)

    def convert_html(self, html: str) -> str:
        """Convert the text nodes and readable attributes of an HTML fragment or document."""
        out: list[str] = []
        position = 0
        skip: list[str] = []  # open skipped elements (code, pre, …)
        for match in _TOKEN.finditer(html):
            text = html[position : match.start()]
            out.append(text if skip else self.convert(text))
            position = match.end()
            closing, name, attrs = match.group(1), match.group(2), match.group(3)
            if name is None:  # comment or doctype
                out.append(match.group(0))
                continue
            name = name.lower()
            if closing:
                if skip and skip[-1] == name:
                    skip.pop()
                out.append(match.group(0))
                continue
            if name in SKIP_ELEMENTS and not attrs.rstrip().endswith("/"):
                skip.append(name)
            if skip or not attrs or not _HAN.search(attrs) or 'translate="no"' in attrs:
                out.append(match.group(0))
                continue
            out.append(f"<{name}{self._convert_attributes(name, attrs)}>")
        tail = html[position:]
        out.append(tail if skip else self.convert(tail))
        return "".join(out)

    def _convert_attributes(self, tag: str, attrs: str) -> str:
        if tag == "meta":
            found = {m.group(1).lower(): m.group(3)[1:-1] for m in _ATTR.finditer(attrs)}
            if found.get("name", "").lower() not in TEXT_META_NAMES:
                return attrs

        def replace(match: re.Match) -> str:
            name = match.group(1).lower()
            if name in TEXT_ATTRIBUTES or (name.startswith("data-") and name.endswith("-label")):
                return f"{match.group(1)}{match.group(2)}{self.convert(match.group(3))}"
            return match.group(0)

        return _ATTR.sub(replace, attrs)


@lru_cache(maxsize=None)
def converter() -> HantConverter:
    """The shared converter (OpenCC dictionaries are loaded once per process)."""
    return HantConverter()


@lru_cache(maxsize=None)
def _reverse() -> opencc.OpenCC:
    return opencc.OpenCC(REVERSE_PROFILE)


def to_simplified(text: str) -> str:
    """Traditional → Simplified (used to segment Traditional text with jieba's dictionary)."""
    return _reverse().convert(text)


# --- page-level helpers used by hooks/kb_i18n.py --------------------------------------

# The page body, already Traditional when the theme renders around it, is fenced with these
# comments so that convert_chrome leaves it alone (and then drops the fences).
BODY_START, BODY_END = "<!--kb-hant-body-->", "<!--/kb-hant-body-->"
_BODY = re.compile(re.escape(BODY_START) + ".*?" + re.escape(BODY_END), re.S)
_CONFIG_BASE = re.compile(r'(<script id="__config" type="application/json">\{[^<]*?"base":\s*")([^"]*)(")')
META_TEXT_KEYS = ("title", "description", "keywords")


def is_handwritten(page) -> bool:
    """A hand-written ``*.zh-Hant.md`` page is already Traditional: do not convert it."""
    return str(page.file.abs_src_path or page.file.src_uri).endswith(HANT_SUFFIX)


def _convert_toc(items) -> None:
    for item in items:
        item.title = converter().convert(item.title)
        _convert_toc(item.children)


def convert_page(html: str, page) -> str:
    """Convert a rendered page body plus its title, meta prose and TOC; ids stay as they are."""
    convert = converter().convert
    for key in META_TEXT_KEYS:
        value = page.meta.get(key)
        if isinstance(value, str):
            page.meta[key] = convert(value)
        elif isinstance(value, list):
            page.meta[key] = [convert(v) if isinstance(v, str) else v for v in value]
    if "title" in vars(page) and isinstance(vars(page)["title"], str):
        page.title = convert(vars(page)["title"])
    if getattr(page, "_title_from_render", None):
        page._title_from_render = convert(page._title_from_render)
    _convert_toc(page.toc)
    return fence_body(converter().convert_html(html))


def fence_body(html: str) -> str:
    return f"{BODY_START}{html}{BODY_END}"


class RenderReuse:
    """The zh-Hant pass reuses the zh pass's Markdown rendering of the same page.

    A generated Traditional page is its Simplified page converted after rendering, and the
    Markdown handed to the renderer is the same text in both passes, so rendering it again
    only costs time (a third of the zh-Hant pass). A page is reused only when that Markdown
    is identical; otherwise, and for hand-written translations, it is rendered as usual.
    MkDocs' link and anchor validation ran on the same text in the zh pass.
    """

    def __init__(self) -> None:
        # src_uri → (markdown, html, toc, title from the first heading, anchor ids)
        self._rendered: dict[str, tuple] = {}
        self._skipped: set[str] = set()

    def start_pass(self, is_hant: bool) -> None:
        if not is_hant:
            self._rendered.clear()
        self._skipped.clear()

    def remember(self, page, html: str) -> None:
        """zh pass, before any other on_page_content handler changes the HTML."""
        self._rendered[page.file.src_uri] = (page.markdown, html, copy.deepcopy(page.toc),
                                             page._title_from_render, set(page.present_anchor_ids or ()))

    def skip_render(self, markdown: str, page) -> str:
        """zh-Hant pass, after every other on_page_markdown handler: "" when the render can be reused."""
        stored = self._rendered.get(page.file.src_uri)
        if stored is None or stored[0] != markdown or is_handwritten(page):
            return markdown
        self._skipped.add(page.file.src_uri)
        return ""

    def restore(self, page, html: str) -> str:
        """zh-Hant pass, before any other on_page_content handler: the zh pass's rendering."""
        if page.file.src_uri not in self._skipped:
            return html
        markdown, html, toc, title, anchors = self._rendered[page.file.src_uri]
        page.markdown = markdown
        page.toc = copy.deepcopy(toc)
        page._title_from_render = title
        page.present_anchor_ids = set(anchors)
        return html


def convert_nav(nav) -> None:
    """Nav section and page titles (the pages' own titles are converted with their content)."""

    def walk(items) -> None:
        for item in items:
            if isinstance(vars(item).get("title"), str):
                item.title = converter().convert(vars(item)["title"])
            walk(getattr(item, "children", None) or [])

    walk(nav.items)


def convert_chrome(output: str) -> str:
    """Convert what the theme rendered around the (already Traditional) page body: nav, TOC,
    header, tags, footer. The fenced body is copied as it is, without its fences."""
    out: list[str] = []
    position = 0
    for match in _BODY.finditer(output):
        out.append(converter().convert_html(output[position : match.start()]))
        out.append(match.group(0)[len(BODY_START) : -len(BODY_END)])
        position = match.end()
    out.append(converter().convert_html(output[position:]))
    return "".join(out)


def point_search_at_edition(output: str, language: str) -> str:
    """Make Material's JS load ``<language>/search/search_index.json`` instead of the root index.

    Material fetches ``search/search_index.json`` relative to ``__config.base``; pages of the
    zh-Hant edition get the edition root as their base (result links are then relative to it,
    matching the edition's index, whose locations kb.search_index makes edition-relative).
    """

    def replace(match: re.Match) -> str:
        base = match.group(2).rstrip("/") or "."
        return f"{match.group(1)}{base}/{language}/{match.group(3)}"

    return _CONFIG_BASE.sub(replace, output, count=1)


_CONFIG_SEARCH = re.compile(r'("search":\s*")([^"?]*?)workers/(search\.[0-9a-f]+\.min\.js)(")')
SEARCH_WORKER = "search-kb.js"


def use_project_search_worker(output: str) -> str:
    """Point ``__config.search`` at assets/javascripts/workers/search-kb.js, which wraps
    Material's worker (passed as ?material=…) and fixes Chinese query segmentation."""
    return _CONFIG_SEARCH.sub(
        lambda m: f"{m.group(1)}{m.group(2)}workers/{SEARCH_WORKER}?material={m.group(3)}{m.group(4)}",
        output,
        count=1,
    )
