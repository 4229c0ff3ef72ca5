"""A parsed view of every Markdown page of the site, shared by all checks and generators.

Built once per build (the hook) or per run (`kb-check`). Parsing results are cached per
file by (mtime, size), so `mkdocs serve` rebuilds and the second language pass of
mkdocs-static-i18n re-parse only what changed.
"""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from kb.call_scripts import CallScript, find_scripts, iter_fences
from kb.frontmatter import FrontMatter, split_front_matter
from kb.paths import shown_path, translated_source
from kb.problems import Problem

MARKER = re.compile(r"^[ \t]*<!--[ \t]*kb:generate[ \t]+(?P<name>[^\s]+)(?P<args>.*?)[ \t]*-->[ \t]*$")
SNIPPET_LINE = re.compile(r"""^[ \t]*(?P<escape>;*)-{1,}8<-{1,}[ \t]+(?P<quote>["'])(?P<name>.+?)(?P=quote)[ \t]*$""")
SNIPPET_BLOCK = re.compile(r"^[ \t]*-{1,}8<-{1,}[ \t]*$")
INLINE_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?(?P<target>[^)\s>]+)>?(?:\s+[\"'][^\"']*[\"'])?\s*\)")
REF_DEF = re.compile(r"^[ \t]{0,3}\[[^\]]+\]:[ \t]*<?(?P<target>[^\s>]+)>?")
HEADING = re.compile(r"^(?P<hashes>#{1,6})[ \t]+(?P<text>.*?)[ \t]*(?:\{(?P<attrs>[^}]*)\})?[ \t]*#*[ \t]*$")
ATTR_ID = re.compile(r"\{[^}\n]*#(?P<id>[\w-]+)[^}\n]*\}")
HTML_ID = re.compile(r"""\bid=["'](?P<id>[^"']+)["']""")
INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")


@dataclass
class Link:
    line: int
    target: str  # as written


@dataclass
class Marker:
    line: int
    name: str
    args: str


@dataclass
class Snippet:
    line: int
    name: str  # as written, possibly with a ':section' suffix


@dataclass
class PageSource:
    path: str  # docs-relative, '/'-separated (MkDocs src_uri)
    display: str  # path shown in messages (relative to the project root)
    text: str = ""
    decode_error: Problem | None = None
    front_matter: FrontMatter | None = None
    scripts: list[CallScript] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    markers: list[Marker] = field(default_factory=list)
    snippets: list[Snippet] = field(default_factory=list)
    anchors: set[str] = field(default_factory=set)

    @property
    def meta(self) -> dict:
        return self.front_matter.data if self.front_matter else {}

    @property
    def title(self) -> str:
        title = self.meta.get("title")
        return str(title) if title else self.path

    @property
    def script_ids(self) -> list[str]:
        return [s.id for s in self.scripts if s.id]


def blank_code(markdown: str) -> str:
    """The Markdown with fenced-block lines emptied and inline code removed (line numbers kept)."""
    lines = markdown.split("\n")
    for fence in iter_fences(markdown):
        start = fence.start_line - 1
        count = fence.body.count("\n") + 2 if fence.body else 2
        for index in range(start, min(start + count, len(lines))):
            lines[index] = ""
    return "\n".join(INLINE_CODE.sub("", line) for line in lines)


def _slugify(text: str) -> str:
    from pymdownx.slugs import slugify

    return slugify(case="lower")(text, "-")


def parse_page(path: str, display: str, raw: bytes) -> PageSource:
    page = PageSource(path, display)
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        from kb.problems import problem

        page.decode_error = problem(display, line, "encoding", bad_line=line)
        page.text = raw.decode("utf-8", errors="replace")
        return page
    text = text.replace("\r\n", "\n")
    page.text = text
    page.front_matter = split_front_matter(text, display)
    if page.front_matter.error is not None:
        body, first = text, 1
    else:
        body, first = page.front_matter.body, page.front_matter.body_line
    page.scripts = find_scripts(body, display, first)
    page.anchors.update(page.script_ids)
    for number, line in enumerate(blank_code(body).split("\n"), start=first):
        marker = MARKER.match(line)
        if marker:
            page.markers.append(Marker(number, marker.group("name"), marker.group("args").strip()))
            continue
        snippet = SNIPPET_LINE.match(line)
        if snippet and not snippet.group("escape"):
            page.snippets.append(Snippet(number, snippet.group("name")))
            continue
        for match in INLINE_LINK.finditer(line):
            page.links.append(Link(number, match.group("target")))
        ref = REF_DEF.match(line)
        if ref and not line.lstrip().startswith("*["):
            page.links.append(Link(number, ref.group("target")))
        heading = HEADING.match(line)
        if heading:
            attrs = heading.group("attrs") or ""
            explicit = re.search(r"#([\w-]+)", attrs)
            page.anchors.add(explicit.group(1) if explicit else _slugify(heading.group("text")))
        for match in ATTR_ID.finditer(line):
            page.anchors.add(match.group("id"))
        for match in HTML_ID.finditer(line):
            page.anchors.add(match.group("id"))
    # Block-form snippets: a '--8<--' line, file names, a closing '--8<--' line.
    lines = body.split("\n")
    index = 0
    while index < len(lines):
        if SNIPPET_BLOCK.match(lines[index]):
            end = index + 1
            while end < len(lines) and not SNIPPET_BLOCK.match(lines[end]):
                name = lines[end].strip()
                if name and not name.startswith(";"):
                    page.snippets.append(Snippet(first + end, name))
                end += 1
            index = end + 1
        else:
            index += 1
    return page


_CACHE: dict[str, tuple[tuple[int, int], PageSource]] = {}


def load_page(abs_path: str, path: str, display: str) -> PageSource:
    """Parse one file, reusing the previous parse when the file has not changed."""
    stat = os.stat(abs_path)
    key = (stat.st_mtime_ns, stat.st_size)
    cached = _CACHE.get(abs_path)
    if cached and cached[0] == key and cached[1].path == path:
        return cached[1]
    page = parse_page(path, display, Path(abs_path).read_bytes())
    _CACHE[abs_path] = (key, page)
    return page


@dataclass
class Site:
    """Everything the checks and generators need to know about the site."""

    docs_dir: Path
    display_prefix: str  # docs_dir relative to the project root, e.g. 'docs'
    pages: dict[str, PageSource]
    nav_paths: set[str] | None  # None when mkdocs.yml has no nav (every page is listed)
    snippet_base: list[Path]
    auto_append: list[str]
    vocabulary: dict
    # Generator output per (page, name, args) for this build pass (see kb.generated.run).
    generated_cache: dict = field(default_factory=dict)
    # HTML that generators hand over ready-made, per page, spliced in after the Markdown pass (kb.generated.stash_html).
    html_fragments: dict[str, list[str]] = field(default_factory=dict)

    def resolve(self, from_page: str, target: str) -> tuple[str | None, str]:
        """Resolve a relative link target to (docs-relative page path or None if not a page link, fragment)."""
        path, _, fragment = target.partition("#")
        if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target) or target.startswith("/"):
            return None, fragment
        if not path:
            return from_page, fragment
        path = path.split("?")[0]
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(from_page), path))
        if resolved.endswith("/") or not posixpath.splitext(resolved)[1]:
            resolved = posixpath.join(resolved, "index.md")
        return resolved, fragment

    def snippet_file(self, name: str) -> Path | None:
        name = name.split(":")[0] if not Path(name).exists() else name
        for base in self.snippet_base:
            candidate = base / name
            if candidate.is_file():
                return candidate
        return None

    @property
    def scripts(self) -> list[CallScript]:
        """Scripts of the source pages (hand-written x.zh-Hant.md translations excluded)."""
        return [script for path, page in self.pages.items() if translated_source(path) == path for script in page.scripts]


def flatten_nav(nav) -> set[str]:
    found: set[str] = set()
    if isinstance(nav, str):
        found.add(nav)
    elif isinstance(nav, list):
        for item in nav:
            found |= flatten_nav(item)
    elif isinstance(nav, dict):
        for value in nav.values():
            found |= flatten_nav(value)
    return found


def build_site(config, doc_files=None) -> Site:
    """A Site from a loaded MkDocs config; `doc_files` are MkDocs File objects (default: get_files)."""
    from kb.paths import load_vocabulary

    if doc_files is None:
        from mkdocs.structure.files import get_files

        doc_files = get_files(config).documentation_pages()
    docs_dir = Path(config["docs_dir"])
    root = Path(config["config_file_path"]).parent if config.get("config_file_path") else docs_dir.parent
    prefix = shown_path(docs_dir, root)
    pages = {}
    for file in doc_files:
        display = f"{prefix}/{file.src_uri}"
        pages[file.src_uri] = load_page(file.abs_src_path, file.src_uri, display)
    snippet_base, auto_append = [], []
    for ext in config["markdown_extensions"]:
        if ext == "pymdownx.snippets":
            options = config["mdx_configs"].get(ext, {})
            bases = options.get("base_path", ["."])
            bases = [bases] if isinstance(bases, str) else bases
            snippet_base = [(root / base) for base in bases]
            auto_append = list(options.get("auto_append", []))
    nav = config.get("nav")
    return Site(docs_dir, prefix, pages, flatten_nav(nav) if nav else None, snippet_base, auto_append, load_vocabulary())
