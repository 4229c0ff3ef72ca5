"""Shared fixtures: building sites, serving them over HTTP, driving real Chromium.

Builds are expensive on a 2-core machine, so the real site is built once per test
session (`built_site`) and every test that only reads the output shares it. Tests
that need a broken site copy the sources with `site_copy` and build that copy.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS_DIR = REPO_ROOT / "test-artifacts"
CHROMIUM_PATH = os.environ.get("KB_CHROMIUM", "/usr/bin/chromium")

# Copied into a temporary site; everything else (tests, .git, .venv, site/) is not needed to build.
SITE_INPUTS = ("mkdocs.yml", "docs", "hooks", "tools")


def pytest_configure(config):
    # The red-line rules memo (kb.redlines.compiled) lives in a directory of this session, which
    # builds run as subprocesses inherit: tests neither trust a developer's memo nor leave one behind.
    if "KB_CACHE_DIR" not in os.environ:
        config._kb_cache_dir = tempfile.mkdtemp(prefix="kb-cache-")
        os.environ["KB_CACHE_DIR"] = config._kb_cache_dir


def pytest_unconfigure(config):
    cache_dir = getattr(config, "_kb_cache_dir", None)
    if cache_dir:
        shutil.rmtree(cache_dir, ignore_errors=True)
        os.environ.pop("KB_CACHE_DIR", None)


@dataclass
class BuildResult:
    """Outcome of one `mkdocs build` run."""

    returncode: int
    output: str  # stdout and stderr together, as a trainer would see them
    site_dir: Path

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def html(self, relative_path: str) -> str:
        return (self.site_dir / relative_path).read_text(encoding="utf-8")


def run_mkdocs_build(project_dir: Path, site_dir: Path, *extra_args: str) -> BuildResult:
    """Run `mkdocs build --strict` on a project directory, capturing its log."""
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONUNBUFFERED="1")
    # Hooks import the `kb` package; make the copy's own tools/ win over the installed one.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(project_dir / "tools"), env.get("PYTHONPATH")]))
    completed = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir), *extra_args],
        cwd=project_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    return BuildResult(completed.returncode, completed.stdout, site_dir)


@dataclass
class SiteCopy:
    """A throw-away copy of the project sources that a test may break on purpose."""

    root: Path
    site_dir: Path = field(init=False)

    def __post_init__(self) -> None:
        self.site_dir = self.root / "site"

    @property
    def docs(self) -> Path:
        return self.root / "docs"

    def write(self, relative_path: str, text: str) -> Path:
        path = self.root / relative_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return path

    def build(self, *extra_args: str) -> BuildResult:
        return run_mkdocs_build(self.root, self.site_dir, *extra_args)


@pytest.fixture
def site_copy(tmp_path: Path) -> SiteCopy:
    """A private copy of mkdocs.yml, docs/, hooks/ and tools/ for a test to modify and build."""
    root = tmp_path / "project"
    root.mkdir()
    for name in SITE_INPUTS:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("__pycache__"))
        elif source.exists():
            shutil.copy2(source, root / name)
    return SiteCopy(root)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> BuildResult:
    """The real site, built once per session with `mkdocs build --strict`; fails loudly if the build does."""
    site_dir = tmp_path_factory.mktemp("built") / "site"
    result = run_mkdocs_build(REPO_ROOT, site_dir)
    if not result.ok:
        pytest.fail(f"mkdocs build --strict failed (exit {result.returncode}):\n{result.output}")
    return result


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib signature
        pass


@pytest.fixture(scope="session")
def served_site(built_site: BuildResult):
    """Serve the built site on a free loopback port; yields the base URL ending in '/'."""
    handler = functools.partial(_QuietHandler, directory=str(built_site.site_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


# Flags that keep Chromium from phoning home on a machine with a closed network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def chromium():
    """A headless system Chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM_PATH).exists():
        pytest.fail(
            f"找不到 Chromium：{CHROMIUM_PATH}。请运行：sudo apt-get install -y chromium fonts-noto-cjk"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM_PATH, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@dataclass
class RecordedPage:
    """A browser page plus every URL it requested."""

    page: object
    requests: list[str]

    def external_requests(self, base_url: str) -> list[str]:
        allowed = (base_url, "data:", "blob:", "about:")
        return [url for url in self.requests if not url.startswith(allowed)]


@pytest.fixture
def browser_page(chromium, request):
    """A fresh page that records every request; saves a screenshot to test-artifacts/ if the test fails."""
    context = chromium.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    recorded = RecordedPage(page, [])
    page.on("request", lambda req: recorded.requests.append(req.url))
    try:
        yield recorded
    finally:
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            ARTIFACTS_DIR.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS_DIR / f"{request.node.name}.png"), full_page=True)
        context.close()
