"""Per-edition Chinese search index for 催收知识库.

mkdocs-static-i18n builds zh, then zh-Hant into site/zh-Hant/, and writes ONE
site/search/search_index.json holding both editions, which every page loads. This module:

* segments Traditional text exactly like its Simplified source (jieba's dictionary has
  no Traditional entries): the text is converted to Simplified (a length-preserving,
  character-level mapping), cut by jieba, and the cuts are mapped back;
* splits the index per edition (site/search/… for zh, site/zh-Hant/search/… for zh-Hant,
  with the zh-Hant pages pointed at their own index by kb.hant.point_search_at_edition);
* adds each page's front-matter ``keywords`` (everyday words) to its page entry as a
  field of its own, boosted in mkdocs.yml (plugins → search → fields → keywords);
* rewrites the JSON compactly as UTF-8 (Material escapes every CJK character as \\uXXXX).
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from concurrent.futures import Future
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from backrefs import bre

from kb import diskcache, hant
from kb.forked import submit_forked

SOURCE_LANGUAGE = "zh"
HANT_LANGUAGE = "zh-Hant"
INDEX_PATH = Path("search") / "search_index.json"
ZWSP = "\u200b"
KEYWORDS_FIELD = "keywords"
# Material's own expression for the Han runs it segments (backrefs is Material's dependency).
_HAN_RUN = bre.compile(r"(\p{script: Han}+)", bre.UNICODE)


@dataclass
class BuildState:
    """What the hook learns while mkdocs-static-i18n builds one language after the other."""

    language: str = SOURCE_LANGUAGE
    # language → page location (relative to that edition's root) → keywords
    keywords: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    # The default edition's rendered 404.html, kept while the other editions are built.
    default_error_page: str | None = None

    @property
    def is_hant(self) -> bool:
        return self.language == HANT_LANGUAGE

    def start_language(self, language: str) -> None:
        self.language = language
        self.keywords.setdefault(language, {})

    def remember_page(self, page) -> None:
        words = page.meta.get(KEYWORDS_FIELD) or []
        if isinstance(words, str):
            words = [words]
        words = [str(word).strip() for word in words if str(word).strip()]
        if self.is_hant:
            words = [hant.converter().convert(word) for word in words]
        self.keywords.setdefault(self.language, {})[edition_location(page.url, self.language)] = words


def edition_location(url: str, language: str) -> str:
    """A page URL relative to its edition's root ('zh-Hant/a/b/' → 'a/b/')."""
    prefix = f"{language}/"
    if language != SOURCE_LANGUAGE and url.startswith(prefix):
        return url[len(prefix) :]
    if language != SOURCE_LANGUAGE and url == language:
        return ""
    return url


# --- segmentation -----------------------------------------------------------------


def segment_via_simplified(text: str, segment) -> str:
    """Segment (Traditional) ``text`` with ``segment`` (Material's jieba segmenter) as if it
    were Simplified: the ZWSP cuts made in the Simplified form are copied onto the original."""
    simplified = hant.to_simplified(text)
    if len(simplified) != len(text):  # not a 1:1 mapping (rare): segment as it is
        return segment(text)
    cut = segment(simplified)
    out: list[str] = []
    position = 0
    for char in cut:
        if position < len(text) and char == simplified[position]:
            out.append(text[position])
            position += 1
        elif char == ZWSP:
            out.append(ZWSP)
        else:  # the segmenter changed the text otherwise: do not guess
            return segment(text)
    if position != len(text):
        return segment(text)
    return "".join(out)


class CachedSegmenter:
    """Material's Chinese segmentation (``SearchIndex._segment_chinese``), memoised per Han run.

    jieba cuts each run of Han characters on its own, so a run's cut never depends on its
    surroundings and can be reused: the zh-Hant edition (segmented via its Simplified form)
    hits the zh edition's cuts, ``mkdocs serve`` re-segments only what an edit changed, and
    the cuts are kept on disk (kb.diskcache) for the next build. jieba itself is loaded only
    when a run is not in the cache: initialising its dictionary costs about a second per build.
    The cache belongs to one set of dictionaries (``use_dictionaries``): a change drops it.
    """

    # A run is a sentence fragment of a few dozen characters; this bounds memory on huge sites.
    MAX_ENTRIES = 200_000
    KIND = "segments"

    def __init__(self, cut=None) -> None:
        self._given_cut = cut  # tests pass their own cutter; None = jieba.cut
        self._cut = cut
        self._cache: dict[str, str] = {}
        self._fingerprint: tuple = ()
        self._dictionaries: tuple = (None, None)
        self._dictionaries_loaded = False
        self._key: str | None = None
        self._dirty = False
        self._prefetched: Future | None = None

    def reset_if_changed(self, fingerprint: tuple) -> None:
        if fingerprint != self._fingerprint:
            self._cache.clear()
            self._fingerprint = fingerprint
            self._dictionaries_loaded = False  # an edited dictionary is loaded again before the next cut

    def use_dictionaries(self, main_dict: str | None, user_dict: str | None) -> None:
        """Segment with jieba's dictionary (or `main_dict`) plus `user_dict`, as Material would
        have loaded them; the cuts remembered on disk for exactly these files are reused."""
        self._dictionaries = (main_dict, user_dict)
        fingerprint = dictionary_fingerprint(main_dict, user_dict)
        if fingerprint == self._fingerprint:
            return
        self.reset_if_changed(fingerprint)
        self._key = _segments_key(main_dict, user_dict)
        stored = diskcache.load(self.KIND, self._key)
        if isinstance(stored, dict):
            self._cache.update(stored)
        self._dirty = False

    def save(self) -> None:
        """Keep this build's cuts for the next one (a finished prefetch's too, all of them)."""
        if self._prefetched is not None and self._prefetched.done():
            self._take_prefetched()
        if self._dirty and self._key is not None:
            diskcache.store(self.KIND, self._key, self._cache)
            self._dirty = False

    def segment(self, data: str) -> str:
        """Exactly what Material's segmenter returns for ``data``."""
        return _HAN_RUN.sub(self._segment_run, data).strip(ZWSP)

    def _segment_run(self, match) -> str:
        run = match.group(0)
        cut = self._cache.get(run)
        if cut is None and self._prefetched is not None:
            self._take_prefetched()
            cut = self._cache.get(run)
        if cut is None:
            if not self._dictionaries_loaded:
                self._load_jieba()
            if len(self._cache) >= self.MAX_ENTRIES:
                self._cache.clear()
            cut = self._cache[run] = self._cut_run(run)
            self._dirty = True
        return cut

    def _cut_run(self, run: str) -> str:
        return ZWSP + ZWSP.join(self._cut(run)) + ZWSP

    def prefetch(self, texts) -> None:
        """Cut, in a forked process, the Han runs of `texts`, when no cuts are remembered at all
        (the first build after a clone, or after a dictionary change); otherwise the few new
        runs of an edit are cut here as they come, and the sources are not even scanned.

        Called as a one-off build starts, with the site's sources: most runs of a page's search
        text are runs of its Markdown as rendered (foreseen_runs). The worker has the second
        core (the red-line checker yields it, PREFETCH_NICENESS); while it works, new index
        entries are left unsegmented (install_segmenter) and cut just before the index is
        written, mostly from its result. Runs it did not foresee are cut here as before. Only
        where fork exists."""
        if not self.would_prefetch():
            return
        runs = foreseen_runs(texts)
        if runs:
            self._prefetched = submit_forked(_cut_in_child, self._dictionaries, sorted(runs), niceness=PREFETCH_NICENESS)

    def would_prefetch(self) -> bool:
        """Nothing is remembered, so prefetch() would cut (callers skip reading the sources)."""
        return self._given_cut is None and self._prefetched is None and not self._cache

    def prefetch_pending(self) -> bool:
        """A prefetch is still cutting (its result, when ready, is taken on the next miss)."""
        return self._prefetched is not None and not self._prefetched.done()

    def _take_prefetched(self) -> None:
        future, self._prefetched = self._prefetched, None
        try:
            cuts = future.result()
        except Exception:  # noqa: BLE001 — the worker died: cut here instead, as without it
            return
        if len(self._cache) + len(cuts) > self.MAX_ENTRIES:
            self._cache.clear()
        self._cache.update(cuts)
        self._dirty = True

    def _load_jieba(self) -> None:
        if self._given_cut is None:
            import jieba

            main_dict, user_dict = self._dictionaries
            if main_dict:
                jieba.set_dictionary(main_dict)
            load_prefix_dictionary(jieba.dt)
            if user_dict:
                jieba.load_userdict(user_dict)
            self._cut = jieba.cut
        self._dictionaries_loaded = True


PREFIX_KIND = "jieba-prefix"


def load_prefix_dictionary(tokenizer) -> None:
    """Initialise a jieba Tokenizer from our pickle of its prefix dictionary when we have one.

    jieba keeps the prefix dictionary it derives from dict.txt in a marshal file and reads it
    back in about 1.3 s on this machine; the same dictionary pickled loads in about 0.35 s. A
    build that meets any text not cut before (a trainer's edit) pays this once per process.
    The memo is keyed by jieba's version and the dictionary file's bytes; without it, jieba
    initialises as usual and the result is remembered for the next build."""
    if tokenizer.initialized:
        return
    key = _prefix_key(tokenizer)
    stored = diskcache.load(PREFIX_KIND, key)
    if isinstance(stored, tuple) and len(stored) == 2 and isinstance(stored[0], dict):
        with tokenizer.lock:
            tokenizer.FREQ, tokenizer.total = stored
            tokenizer.initialized = True
        return
    tokenizer.initialize()
    diskcache.store(PREFIX_KIND, key, (tokenizer.FREQ, tokenizer.total))


def _prefix_key(tokenizer) -> str | None:
    try:
        with tokenizer.get_dict_file() as handle:
            return _jieba_key([handle.read()])
    except OSError:
        return None


SEGMENTER = CachedSegmenter()
# The prefetch worker's priority: rendering's, on the second core, where the red-line checker
# yields to it (kb.mkdocs_build.CHECKER_NICENESS): the first edition's index needs its cuts,
# the checks are reported only once every edition is built. (Three processes of equal
# priority on two cores slowed rendering.)
PREFETCH_NICENESS = 0


def _cut_in_child(dictionaries: tuple, runs: list[str]) -> dict[str, str]:
    """The prefetch worker: load jieba as the build would, cut every run."""
    segmenter = CachedSegmenter()
    segmenter._dictionaries = dictionaries
    segmenter._load_jieba()
    return {run: segmenter._cut_run(run) for run in runs}


# Inline Markdown and HTML that rendering removes, so that the text on either side joins into one
# run of the page's search text (见[失联修复](cases/lost-contact.md) → 见失联修复).
_RENDERED_AWAY = re.compile(r"\*\*|__|~~|==|\^\^|`+|\]\([^)\s]*\)|\]\[[^\]]*\]|\[\^?|<[^>\n]+>")


def foreseen_runs(texts) -> set[str]:
    """The Han runs the search text of pages made from `texts` will mostly consist of."""
    return {m.group(0) for text in texts for m in _HAN_RUN.finditer(_RENDERED_AWAY.sub("", text))}


def site_sources(config) -> list[str]:
    """The texts a build's search text mostly comes from: the docs tree's Markdown and YAML,
    the red-line rules and the vocabulary (the hooks render pages from them) and mkdocs.yml
    (nav titles). Runs they do not foresee (text only the hooks write, a script card's title
    bar) are cut when met."""
    from kb.paths import REDLINE_RULES_FILE, VOCABULARY_FILE

    paths = [p for p in Path(config["docs_dir"]).rglob("*") if p.suffix in (".md", ".yml", ".yaml")]
    paths += [REDLINE_RULES_FILE, VOCABULARY_FILE, Path(config["config_file_path"])]
    texts = []
    for path in paths:
        try:
            texts.append(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue  # the build reports unreadable pages itself
    return texts


def _segments_key(main_dict: str | None, user_dict: str | None) -> str | None:
    """What decides a cut: jieba's version, the dictionaries' contents and this module's code."""
    try:
        return _jieba_key([Path(path).read_bytes() if path else b"-" for path in (main_dict, user_dict)])
    except OSError:
        return None


def _jieba_key(contents: list[bytes]) -> str | None:
    """The key of what this module derives with jieba from these dictionary contents."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        parts = [version("jieba").encode(), *contents]
    except PackageNotFoundError:
        return None
    data = b"|".join(hashlib.sha256(part).digest() for part in parts)
    return diskcache.derived_key(Path(__file__).resolve().parent, ("search_index.py",), data)


def dictionary_fingerprint(*paths: str | None) -> tuple:
    """The jieba dictionary files, with their modification times."""
    return tuple((path, Path(path).stat().st_mtime_ns if path and Path(path).is_file() else None) for path in paths)


def take_over_dictionaries(search_plugin) -> None:
    """Load jieba's dictionaries lazily instead of in Material's ``on_config``.

    Material's search plugin initialises jieba whenever ``jieba_dict``/``jieba_dict_user`` is
    set, about a second per build even when every cut is already known. Called before that
    (higher priority), this hands the two paths to the segmenter and clears them in the plugin's
    config, so jieba loads them only if a run must be cut. mkdocs.yml keeps the setting where
    Material documents it."""
    if search_plugin is None:
        return
    cfg = search_plugin.config
    main_dict, user_dict = cfg.get("jieba_dict"), cfg.get("jieba_dict_user")
    if not main_dict and not user_dict:
        return  # already taken over (the nested zh-Hant build reuses the plugin), or none set
    for path in (main_dict, user_dict):
        if path and not Path(path).is_file():
            return  # let Material report the missing file in its own words
    SEGMENTER.use_dictionaries(main_dict and str(Path(main_dict)), user_dict and str(Path(user_dict)))
    cfg["jieba_dict"] = cfg["jieba_dict_user"] = None


# --- sections of the zh-Hant edition --------------------------------------------------


class SectionReuse:
    """The zh-Hant pass takes a page's search sections from the zh pass instead of parsing its
    HTML again (Material's parser is pure Python: a quarter of the zh-Hant pass).

    Only where the zh-Hant HTML is provably the zh HTML converted: the HTML kb.hant converted
    was the zh page's final HTML, and nothing changed the result afterwards (the tags plugin,
    for one, builds its listing per edition). Then the sections are the zh sections with each
    text fragment converted, exactly what parsing the converted HTML gives, since kb.hant
    converts text node by text node and leaves code alone. Any other page is parsed as
    Material would.
    """

    def __init__(self) -> None:
        # src_uri → (digest of the final zh HTML, [(section, {(field, index) of fragments inside code})]).
        # Digests, not the HTML: a 3 000-page site would otherwise keep a few hundred MiB more.
        self._zh: dict[str, tuple] = {}
        self._converted: dict[str, bytes] = {}  # src_uri → digest of the converted HTML, when its input was that zh HTML

    def start_pass(self, is_hant: bool) -> None:
        if not is_hant:
            self._zh.clear()
        self._converted.clear()

    def note_conversion(self, page, html: str, converted: str) -> None:
        """zh-Hant pass: kb.hant turned `html` into `converted` for this page."""
        stored = self._zh.get(page.file.src_uri)
        if stored is not None and stored[0] == _digest(html):
            self._converted[page.file.src_uri] = _digest(converted)

    def parse(self, page, remember: bool) -> list:
        """Material's sections of the page; remembered (zh pass) for its Traditional twin."""
        parser = _recording_parser_class()()
        parser.feed(page.content)
        parser.close()
        if remember:  # copied before Material fills in missing titles
            self._zh[page.file.src_uri] = (_digest(page.content), [
                (copy.deepcopy(section), parser.verbatim.get(id(section), set())) for section in parser.data
            ])
        return parser.data

    def converted(self, page) -> list | None:
        """zh-Hant pass: the zh sections of this page converted, or None when that would not be exact."""
        src = page.file.src_uri
        if src not in self._converted or self._converted[src] != _digest(page.content):
            return None
        convert = hant.converter().convert
        sections = []
        for original, verbatim in self._zh[src][1]:
            section = copy.deepcopy(original)
            for name in ("title", "text"):
                fragments = getattr(section, name)
                for i, fragment in enumerate(fragments):
                    if (name, i) not in verbatim:
                        fragments[i] = convert(fragment)
            sections.append(section)
        return sections


def _digest(html: str) -> bytes:
    return hashlib.blake2b(html.encode("utf-8", "surrogatepass"), digest_size=20).digest()


@lru_cache(maxsize=None)
def _recording_parser_class():
    """Material's search parser, noting which fragments lie inside elements kb.hant leaves
    unconverted (code, pre, kbd …). Built on first use: importing Material's plugin imports jieba."""
    from material.plugins.search.plugin import Parser

    class RecordingParser(Parser):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            self.verbatim: dict[int, set] = {}  # id(section) → {(field, index)}

        def _lengths(self) -> tuple:
            section = self.section
            return (section, len(section.title), len(section.text)) if section else (None, 0, 0)

        def handle_data(self, data):
            before, title, text = self._lengths()
            super().handle_data(data)
            section = self.section
            if section is None or not any(el.tag in hant.SKIP_ELEMENTS for el in self.context):
                return
            if section is not before:
                title = text = 0
            for name, length in (("title", title), ("text", text)):
                if len(getattr(section, name)) > length:
                    self.verbatim.setdefault(id(section), set()).add((name, length))

        def handle_endtag(self, tag):
            super().handle_endtag(tag)
            section = self.section
            marks = self.verbatim.get(id(section)) if section else None
            if marks:  # fragments dropped with an empty element: their slots may be reused
                marks.difference_update({m for m in marks if m[1] >= len(getattr(section, m[0]))})

    return RecordingParser


def install_section_reuse(search_plugin, state: BuildState, sections: SectionReuse) -> None:
    """Index each page as Material does, but take a zh-Hant page's sections from its zh page
    where that is exact (SectionReuse)."""
    index = getattr(search_plugin, "search_index", None)
    if index is None:
        return

    def add_entry_from_context(page) -> None:  # Material's SearchIndex.add_entry_from_context
        if (page.meta.get("search") or {}).get("exclude"):
            return
        found = sections.converted(page) if state.is_hant else None
        if found is None:
            found = sections.parse(page, remember=not state.is_hant)
        for section in found:
            if not section.is_excluded():
                index.create_entry_for_section(section, page.toc, page.url, page)

    index.add_entry_from_context = add_entry_from_context


def install_segmenter(search_plugin, state: BuildState) -> None:
    """Segment with the shared cache; the zh-Hant edition is segmented like its Simplified source.

    While a prefetch (CachedSegmenter.prefetch) is still cutting, a new index entry is left
    unsegmented and remembered; segment_deferred cuts it before Material writes the index."""
    index = getattr(search_plugin, "search_index", None)
    if index is None:
        return
    deferring = False

    def segment(data: str) -> str:
        return data if deferring else segment_for_edition(data, state.is_hant)

    create_entry = index.create_entry_for_section

    def create_entry_for_section(section, toc, url, page) -> None:
        nonlocal deferring
        deferring = SEGMENTER.prefetch_pending()
        before = len(index.entries)
        try:
            create_entry(section, toc, url, page)
        finally:
            if deferring:
                _DEFERRED.extend((entry, state.is_hant) for entry in index.entries[before:])
            deferring = False

    index._segment_chinese = segment
    index.create_entry_for_section = create_entry_for_section


def segment_for_edition(data: str, is_hant: bool) -> str:
    return segment_via_simplified(data, SEGMENTER.segment) if is_hant else SEGMENTER.segment(data)


# Index entries left unsegmented while the prefetch ran: (entry, is it zh-Hant?).
_DEFERRED: list[tuple[dict, bool]] = []


def segment_deferred() -> None:
    """Segment the entries install_segmenter deferred (before Material writes the index)."""
    for entry, is_hant in _DEFERRED:
        entry["title"] = segment_for_edition(entry["title"], is_hant)
        entry["text"] = segment_for_edition(entry["text"], is_hant)
    _DEFERRED.clear()


# --- index post-processing --------------------------------------------------------


def edition_of(location: str, languages: list[str]) -> str:
    for language in languages:
        if language != SOURCE_LANGUAGE and (location == language or location.startswith(f"{language}/")):
            return language
    return SOURCE_LANGUAGE


def split_index(data: dict, state: BuildState) -> dict[str, dict]:
    """One index per edition, locations relative to the edition's root, keywords added."""
    languages = sorted(set(state.keywords) | {SOURCE_LANGUAGE, HANT_LANGUAGE})
    editions: dict[str, dict] = {}
    for language in languages:
        editions[language] = {"config": dict(data["config"]), "docs": []}
    for entry in data["docs"]:
        language = edition_of(entry["location"], languages)
        entry = dict(entry)
        entry["location"] = edition_location(entry["location"], language)
        words = state.keywords.get(language, {}).get(entry["location"])
        if words:  # page entry (no '#'): the page itself is what the everyday word finds
            entry[KEYWORDS_FIELD] = list(dict.fromkeys(words))
        if language == HANT_LANGUAGE and entry.get("tags"):
            # Material takes tags from the (Simplified) front matter; the page shows them converted.
            entry["tags"] = [hant.converter().convert(tag) for tag in entry["tags"]]
        editions[language]["docs"].append(entry)
    return {language: index for language, index in editions.items() if index["docs"]}


CHARMAP_KEY = "kb_charmap"
FILLERS_KEY = "kb_fillers"
# Question and filler words dropped from a query typed as a question (客户失联怎么办 → 客户 失联)
# by docs/assets/javascripts/workers/search-kb.js, unless the whole query is an index word
# (a keyword such as 一天怎么安排 still matches as typed). Simplified; Traditional is derived.
# 客户 is on nearly every page: as a query word it only pulls in keywords such as 客户画像.
QUERY_FILLERS = ("怎么办", "怎么样", "怎么", "怎样", "如何", "什么", "为什么", "咋办", "咋",
                 "吗", "呢", "啊", "吧", "呀", "的", "了", "应该", "请问", "客户")
_HAN_CHAR = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def _han_chars(index: dict) -> set[str]:
    chars: set[str] = set()
    for entry in index["docs"]:
        for value in (entry.get("title", ""), entry.get("text", ""), *entry.get(KEYWORDS_FIELD, [])):
            chars.update(_HAN_CHAR.findall(value))
    return chars


def add_charmaps(editions: dict[str, dict]) -> None:
    """Let staff type either script: each index maps the other script's characters that never
    occur in this edition to this edition's form (search-kb.js applies it to the query)."""
    if SOURCE_LANGUAGE not in editions or HANT_LANGUAGE not in editions:
        return
    simplified, traditional = _han_chars(editions[SOURCE_LANGUAGE]), _han_chars(editions[HANT_LANGUAGE])
    # A character is foreign to an edition when converting that edition's script never yields
    # it: 联 never survives s2tw, so a 联 typed in zh-Hant means 聯; 干 does (干涉), so it stays.
    # (Converted as running text, so phrases decide: 干涉 stays 干涉.) Material passes only
    # the index's `config` and `docs` to the worker, so the map travels inside `config`.
    convert = hant.converter().convert
    hant_forms = set(_HAN_CHAR.findall(convert(_prose(editions[SOURCE_LANGUAGE]))))
    hans_forms = set(_HAN_CHAR.findall(hant.to_simplified(_prose(editions[HANT_LANGUAGE]))))
    to_hant = {c: convert(c) for c in sorted(simplified - hant_forms)}
    to_hans = {c: hant.to_simplified(c) for c in sorted(traditional - hans_forms)}
    fillers = list(dict.fromkeys([*QUERY_FILLERS, *map(convert, QUERY_FILLERS)]))
    for index in editions.values():
        index["config"][FILLERS_KEY] = fillers
    editions[HANT_LANGUAGE]["config"][CHARMAP_KEY] = {k: v for k, v in to_hant.items() if v != k}
    editions[SOURCE_LANGUAGE]["config"][CHARMAP_KEY] = {k: v for k, v in to_hans.items() if v != k}


def _prose(index: dict) -> str:
    return "\n".join(
        f"{entry.get('title', '')}\n{entry.get('text', '')}".replace(ZWSP, "") for entry in index["docs"]
    )


ERROR_PAGE = "404.html"


def place_error_page(template_name: str, output: str, site_dir: Path | str, state: BuildState) -> str:
    """Keep each edition's 404 page in its own root.

    mkdocs-static-i18n renders every edition's 404.html to the site root, so the last
    edition built (zh-Hant) would replace the Simplified one that readers and GitHub Pages
    get. The default edition keeps the root; the others are written under /<language>/.
    Returns what MkDocs should write to the root.
    """
    if template_name != ERROR_PAGE:
        return output
    if state.language == SOURCE_LANGUAGE:
        state.default_error_page = output
        return output
    target = Path(site_dir) / state.language / ERROR_PAGE
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(output, encoding="utf-8")
    return state.default_error_page if state.default_error_page is not None else output


def copy_sitemaps(site_dir: Path | str, languages: list[str]) -> None:
    """Material fetches sitemap.xml next to ``__config.base``; give each edition root one."""
    root = Path(site_dir)
    for language in languages:
        if language == SOURCE_LANGUAGE:
            continue
        for name in ("sitemap.xml", "sitemap.xml.gz"):
            if (root / name).is_file() and (root / language).is_dir():
                (root / language / name).write_bytes((root / name).read_bytes())


def dump_index(data: dict) -> bytes:
    """Compact UTF-8 JSON (no \\uXXXX escapes); the browser decodes JSON as UTF-8."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def index_path(site_dir: Path | str, language: str) -> Path:
    root = Path(site_dir)
    return root / INDEX_PATH if language == SOURCE_LANGUAGE else root / language / INDEX_PATH


def finalize(site_dir: Path | str, state: BuildState) -> list[str]:
    """Split the combined index per edition and shrink it; returns report lines (Chinese)."""
    combined_path = index_path(site_dir, SOURCE_LANGUAGE)
    raw = combined_path.read_bytes()
    data = json.loads(raw)
    report = [f"搜索索引（合并，Material 原始输出）：{len(raw):,} 字节，{len(data['docs'])} 条"]
    editions = split_index(data, state)
    add_charmaps(editions)
    copy_sitemaps(site_dir, list(editions))
    for language, index in editions.items():
        path = index_path(site_dir, language)
        before = len(json.dumps(index, separators=(",", ":")).encode("utf-8"))
        payload = dump_index(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(payload)
        report.append(
            f"搜索索引 {language}：{path.relative_to(site_dir)}，{len(index['docs'])} 条，"
            f"转义 JSON {before:,} 字节 → UTF-8 {len(payload):,} 字节"
        )
    return report


# --- jieba user dictionary ---------------------------------------------------------

USER_DICT_MARKER = "# ---- 以下由 python -m kb.search_index 生成（词汇表术语与全部繁体词条），请勿手改 ----"
_WORD = re.compile(r"^\S+")


def vocabulary_terms(vocabulary: dict) -> list[str]:
    """Search-worthy terms from vocabulary.yml: tags, debtor types, scenarios, audiences."""
    terms: list[str] = []
    for group in vocabulary.get("tags", {}).values():
        terms.extend(group)
    terms.extend(vocabulary.get("debtor_types", {}))
    terms.extend(vocabulary.get("call_script", {}).get("scenarios", {}))
    terms.extend(vocabulary.get("audiences", {}).values())
    return [t for t in dict.fromkeys(terms) if re.search(r"[\u4e00-\u9fff]", t) and len(t) > 1]


def build_user_dict(text: str, vocabulary: dict) -> str:
    """The user dictionary: the hand-kept part, then generated vocabulary + Traditional lines."""
    manual = text.split(USER_DICT_MARKER, 1)[0].rstrip("\n")
    lines = [line for line in manual.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    entries = {_WORD.match(line).group(0): line.split()[1:] for line in lines}
    generated: list[str] = []
    for term in vocabulary_terms(vocabulary):
        if term not in entries:
            entries[term] = []
            generated.append(term)
    convert = hant.converter().convert
    out = [manual, USER_DICT_MARKER]
    out.extend(generated)
    seen = set(entries)
    for word, rest in entries.items():
        traditional = convert(word)
        if traditional not in seen:
            seen.add(traditional)
            out.append(" ".join([traditional, *rest]))
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    from kb.paths import DATA_DIR, load_vocabulary

    path = DATA_DIR / "jieba_user_dict.txt"
    new = build_user_dict(path.read_text(encoding="utf-8"), load_vocabulary())
    if argv and "--check" in argv:
        if path.read_text(encoding="utf-8") != new:
            print(f"{path}：分词词典未更新。请运行：python -m kb.search_index")
            return 1
        return 0
    path.write_text(new, encoding="utf-8")
    print(f"已更新 {path}")
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
