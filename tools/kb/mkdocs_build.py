"""MkDocs glue for the 催收知识库 checks (called from hooks/kb_build.py).

Per build pass: parse every page once (on_files), run every check in the default-language
pass only (mkdocs-static-i18n rebuilds once per language), expand generator markers and
render call scripts in every pass, and fail the build with one summary after every
problem has been logged — once every edition is built (the checks run meanwhile on the
second core), with the written site directory emptied so nothing stale looks valid.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from concurrent.futures import Future
from html import unescape
from pathlib import Path

from mkdocs.exceptions import PluginError
from mkdocs.plugins import get_plugin_logger

from kb import generated
from kb.call_scripts import PAGE_LINK_SCHEME
from kb.editions import in_nested_edition_build
from kb.forked import fork_available, submit_forked
from kb.paths import cache_dir, cache_enabled
from kb.problems import Problem
from kb.site import SNIPPET_LINE, Site, build_site
from kb.validate import check_site, preload_redline_checker

log = get_plugin_logger("kb")
_PAGE_LINK = re.compile(r'<a href="' + re.escape(PAGE_LINK_SCHEME) + r'(?P<path>[^"#]+)(?P<fragment>#[^"]*)?">(?P<label>.*?)</a>')


# The site a forked checker process inherits (set just before the fork, never pickled).
_SITE_TO_CHECK: Site | None = None


# The forked checker's priority. Its results are needed only once every edition is built, so
# it yields the second core to the search prefetch (kb.search_index), whose cuts the first
# edition's index needs sooner, and takes the core whenever nothing else wants it.
CHECKER_NICENESS = 19


def _check_inherited_site() -> tuple[list[Problem], float]:
    start = time.perf_counter()
    return check_site(_SITE_TO_CHECK), time.perf_counter() - start


def check_in_background(site: Site) -> Future | None:
    """Run check_site in a forked process, so a one-off build checks on the second core while
    this one renders pages. None where fork is unavailable: the caller checks inline."""
    global _SITE_TO_CHECK
    if not fork_available():
        return None
    _SITE_TO_CHECK = site
    preload_redline_checker()  # loaded once, here; the child inherits it
    try:
        return submit_forked(_check_inherited_site, niceness=CHECKER_NICENESS)  # with the site in memory
    finally:
        _SITE_TO_CHECK = None


def _timed(method):
    """Add the method's wall time to STATE.seconds (written to $KB_HOOK_TIMING_FILE by the benchmark)."""

    def wrapper(self, *args, **kwargs):
        start = time.perf_counter()
        try:
            return method(self, *args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - start

    return wrapper


class BuildState:
    def __init__(self) -> None:
        self.seconds = 0.0  # inside the hooks, in this process (waiting for the checker included)
        self.check_seconds = 0.0  # the checker's own time, mostly on the other core
        self.command = "build"
        self.site: Site | None = None
        self.problems: list[Problem] = []
        self.default_pass = True
        self.missing_snippets: dict[str, set[str]] = {}
        self.pending_checks: Future | None = None
        self.site_dir: Path | None = None
        self.failure_reported = False  # conclude() has run for this build

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def is_default_language(config) -> bool:
        plugin = config.plugins.get("i18n")
        if plugin is None:
            return True
        current = getattr(plugin, "current_language", None)
        return current is None or current == getattr(plugin, "default_language", current)

    # -- events ----------------------------------------------------------------------------

    def on_startup(self, command: str) -> None:
        self.command = command

    @_timed
    def on_files(self, files, config) -> None:
        self.default_pass = self.is_default_language(config)
        self.site = build_site(config, files.documentation_pages())
        self.missing_snippets = {}
        for page in self.site.pages.values():
            for snippet in page.snippets:
                if self.site.snippet_file(snippet.name) is None:
                    self.missing_snippets.setdefault(page.display, set()).add(snippet.name)
        if not self.default_pass:
            return
        self.site_dir = Path(config.site_dir)
        self.failure_reported = False
        # `mkdocs serve` checks inline: its results are cached per page (kb.validate), and
        # forking a process that runs the live-reload server's threads is best avoided.
        self.problems = []
        self.pending_checks = check_in_background(self.site) if self.command != "serve" else None
        if self.pending_checks is None:
            self.report(check_site(self.site))

    def report(self, problems: list[Problem]) -> None:
        self.problems = problems
        for item in problems:
            log.warning(item.format())

    def collect_checks(self) -> None:
        if self.pending_checks is not None:
            future, self.pending_checks = self.pending_checks, None
            try:
                problems, seconds = future.result()
            except Exception as exc:  # the worker died (killed, out of memory…): check here instead
                log.info(f"后台检查进程失败（{exc!r}），改为在构建进程内检查。")
                start = time.perf_counter()
                problems, seconds = check_site(self.site), time.perf_counter() - start
            self.check_seconds += seconds
            self.report(problems)

    def on_build_error(self) -> None:
        """The build failed (a rendering error, or MkDocs' strict mode stopping the build of
        another edition): still report every check problem and empty the site, as a failed
        check would have; the build's own error stops it already."""
        self.collect_checks()
        failure = self.conclude()
        if failure:
            log.error(failure)

    @_timed
    def on_env(self, env) -> None:
        """Compiled templates are kept between builds: Jinja compiles Material's ~100 templates
        from source on every build otherwise (about 0.7 s here). Jinja keys each entry on the
        template's source, so an edited override is compiled again."""
        if cache_enabled():
            from jinja2 import FileSystemBytecodeCache

            directory = cache_dir() / "jinja"
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError:
                return  # no cache: templates compile as usual
            if os.access(directory, os.W_OK):  # Jinja would fail the build on an unwritable cache
                env.bytecode_cache = FileSystemBytecodeCache(str(directory))

    def on_page_read_source(self, page) -> str | None:
        """Serve a decoded stand-in for non-UTF-8 files (reported already) instead of crashing."""
        source = self.site.pages.get(page.file.src_uri) if self.site else None
        if source is not None and source.decode_error is not None:
            return source.text
        return None

    @_timed
    def on_page_markdown(self, markdown: str, page) -> str:
        source = self.site.pages.get(page.file.src_uri) if self.site else None
        if source is None:
            return markdown
        missing = self.missing_snippets.get(source.display)
        if missing:
            # Drop includes already reported missing, so pymdownx.snippets does not abort the build
            # before every other problem has been reported.
            lines = markdown.split("\n")
            for index, line in enumerate(lines):
                match = SNIPPET_LINE.match(line)
                if match and match.group("name") in missing:
                    lines[index] = ""
            markdown = "\n".join(lines)
        return generated.expand_markers(markdown, page.file.src_uri, self.site)

    @_timed
    def on_page_content(self, html: str, page, files) -> str:
        source = self.site.pages.get(page.file.src_uri) if self.site else None
        if source is None:
            return html
        # Script ids live in superfences output, stashed before MkDocs collects anchors.
        if source.scripts and page.present_anchor_ids is not None:
            page.present_anchor_ids.update(source.script_ids)
        html = generated.splice_html(html, self.site, page.file.src_uri)
        if PAGE_LINK_SCHEME not in html:
            return html

        def rewrite(match: re.Match) -> str:
            target = files.get_file_from_path(unescape(match.group("path")))
            if target is None:  # the page does not exist (yet): keep the label, drop the link
                return match.group("label")
            url = target.url_relative_to(page.file) + (match.group("fragment") or "")
            return f'<a href="{url}">{match.group("label")}</a>'

        return _PAGE_LINK.sub(rewrite, html)

    def on_post_build(self, config) -> None:
        """Once every edition is built (mkdocs-static-i18n builds the others from its own
        on_post_build): report the checks, and fail the build with the site emptied."""
        if in_nested_edition_build(config):
            return
        start = time.perf_counter()
        try:
            self._finish_build()
        finally:  # timed by hand: the time includes waiting for the checker, and a failed build
            self.seconds += time.perf_counter() - start
            timing_file = os.environ.get("KB_HOOK_TIMING_FILE")
            if timing_file:
                Path(timing_file).write_text(f"{self.seconds:.3f} {self.check_seconds:.3f}\n", encoding="utf-8")

    def _finish_build(self) -> None:
        self.collect_checks()
        failure = self.conclude()
        if failure:
            raise PluginError(failure)

    def conclude(self) -> str | None:
        """Once per build, however it ends: the summary of the check problems, shown as a
        warning where the build goes on (`mkdocs serve` keeps previewing; KB_REPORT_ONLY=1 for
        benchmarks), else returned for the caller to fail with, the site directory emptied so
        nothing stale or half-checked looks valid."""
        if not self.problems or self.failure_reported:
            return None
        self.failure_reported = True
        count = len(self.problems)
        files = len({p.path for p in self.problems})
        summary = f"知识库检查发现 {count} 个问题（涉及 {files} 个文件），详见上方各条 WARNING；修改后重新构建。"
        if self.command == "serve" or os.environ.get("KB_REPORT_ONLY") == "1":
            log.warning(summary)
            return None
        if self.site_dir is not None and self.site_dir.is_dir():
            for child in self.site_dir.iterdir():
                shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
        return summary


STATE = BuildState()
