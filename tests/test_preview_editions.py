"""`mkdocs serve` previews the Simplified edition only (fast rebuilds), unless asked for all editions."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import SimpleNamespace

import pytest

from kb import editions

from conftest import REPO_ROOT

SERVE_TIMEOUT = 180  # seconds; the first build of both editions on a loaded 2-core machine


def fake_i18n():
    languages = [SimpleNamespace(locale="zh", default=True, build=True),
                 SimpleNamespace(locale="zh-Hant", default=False, build=True)]
    return SimpleNamespace(config=SimpleNamespace(languages=languages))


@pytest.fixture
def command(monkeypatch):
    def set_command(name):
        monkeypatch.setattr(editions, "_command", name)

    return set_command


def test_serve_switches_off_the_other_editions(command):
    command("serve")
    plugin = fake_i18n()
    assert editions.limit_preview_editions(plugin, environ={}) == ["zh-Hant"]
    assert [lang.build for lang in plugin.config.languages] == [True, False]


@pytest.mark.parametrize("name, environ", [("build", {}), ("gh-deploy", {}),
                                          ("serve", {editions.ALL_EDITIONS_ENV: "1"})])
def test_builds_and_all_editions_previews_keep_every_edition(command, name, environ):
    command(name)
    plugin = fake_i18n()
    assert editions.limit_preview_editions(plugin, environ=environ) == []
    assert all(lang.build for lang in plugin.config.languages)


def test_dev_script_flag_matches_the_hooks_variable():
    source = (REPO_ROOT / "tools" / "dev.py").read_text(encoding="utf-8")
    assert f'PREVIEW_ALL_EDITIONS_ENV = "{editions.ALL_EDITIONS_ENV}"' in source


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _status(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, ""


def _serve(extra_env: dict[str, str]):
    """Run the real `mkdocs serve` on the repository; returns (process, base URL, log so far)."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != editions.ALL_EDITIONS_ENV}
    env.update(NO_MKDOCS_2_WARNING="1", PYTHONUNBUFFERED="1", **extra_env)
    process = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "--no-livereload", "-a", f"127.0.0.1:{port}"],
                               cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log = []
    deadline = time.monotonic() + SERVE_TIMEOUT
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        log.append(line)
        if "Serving on" in line:
            return process, f"http://127.0.0.1:{port}/", "".join(log)
    process.kill()
    pytest.fail("mkdocs serve did not start:\n" + "".join(log))


def test_preview_serves_the_simplified_edition_only():
    process, base, log = _serve({})
    try:
        status, home = _status(base)
        assert status == 200 and "催收知识库" in home
        assert _status(base + "zh-Hant/")[0] == 404
        assert 'hreflang="zh-Hant"' not in home  # no language switcher pointing at an edition that is not built
        assert "预览只生成简体版" in log and "--all-editions" in log
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_preview_of_all_editions_serves_the_traditional_edition():
    process, base, log = _serve({editions.ALL_EDITIONS_ENV: "1"})
    try:
        status, page = _status(base + "zh-Hant/")
        assert status == 200 and "催收知識庫" in page
        assert "预览只生成简体版" not in log
    finally:
        process.terminate()
        process.wait(timeout=30)
