"""The "最后更新" dates (kb.revision_dates): one `git log`, newest commit per page, build date otherwise."""

from __future__ import annotations

import os
import subprocess
from datetime import timedelta, timezone
from pathlib import Path

import pytest

from kb.revision_dates import RevisionDates, RevisionDatesError, date_html, last_commit_times, parse_log, zone_from_config

BEIJING = timezone(timedelta(hours=8))


def git(repo: Path, *args: str, when: str | None = None) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.invalid",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.invalid"}
    if when:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when
    subprocess.run(["git", *args], cwd=repo, env=env, check=True, capture_output=True)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    (docs / "cases").mkdir(parents=True)
    git(tmp_path, "init", "-q")
    (docs / "index.md").write_text("# 首页\n", encoding="utf-8")
    (docs / "cases" / "old.md").write_text("# 旧\n", encoding="utf-8")
    (docs / "催收.md").write_text("# 中文文件名\n", encoding="utf-8")
    (tmp_path / "README.md").write_text("outside docs\n", encoding="utf-8")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-q", "-m", "first", when="2026-01-02T03:04:05+00:00")
    (docs / "index.md").write_text("# 首页（改）\n", encoding="utf-8")
    git(tmp_path, "mv", "docs/cases/old.md", "docs/cases/new.md")
    git(tmp_path, "commit", "-q", "-am", "second", when="2026-03-04T23:30:00+00:00")
    (tmp_path / "README.md").write_text("changed later, outside docs\n", encoding="utf-8")
    git(tmp_path, "commit", "-q", "-am", "third", when="2026-05-06T00:00:00+00:00")
    (docs / "draft.md").write_text("# 未提交\n", encoding="utf-8")
    return docs


def test_each_page_gets_its_newest_commit_and_paths_are_relative_to_docs(repo):
    times = last_commit_times(repo)
    first, second = 1767323045, 1772667000  # 2026-01-02T03:04:05Z, 2026-03-04T23:30:00Z
    assert times == {"index.md": second, "cases/new.md": second, "cases/old.md": first, "催收.md": first}
    assert "draft.md" not in times and "README.md" not in times


def test_no_git_history_means_no_dates_not_an_error(tmp_path):
    assert last_commit_times(tmp_path) == {}

    def no_git(*args, **kwargs):
        raise FileNotFoundError("git")

    assert last_commit_times(tmp_path, runner=no_git) == {}


def test_parse_log_keeps_the_first_that_is_newest_commit():
    assert parse_log("\x00300\n\na.md\n\x00200\n\na.md\nb.md\n") == {"a.md": 300, "b.md": 200}


def test_date_is_shown_in_beijing_time_by_default():
    zone, name = zone_from_config({})
    html = date_html(1772667000, zone, name)  # 23:30 UTC is 07:30 the next day in Beijing
    assert html == ('<time class="kb-updated" datetime="2026-03-05T07:30:00+08:00" '
                    'title="2026年3月5日 07:30:00 北京时间">2026年3月5日</time>')


def test_uncommitted_page_shows_the_build_date(repo):
    dates = RevisionDates()
    dates.configure({})
    dates.refresh(repo)
    assert "2026年3月5日" in dates.html_for("index.md")
    build_day = dates.html_for("draft.md")
    from datetime import datetime

    today = datetime.fromtimestamp(dates.build_time, BEIJING)
    assert f">{today.year}年{today.month}月{today.day}日</time>" in build_day


def test_zone_comes_from_mkdocs_extra_and_bad_values_are_named():
    zone, name = zone_from_config({"last_updated": {"utc_offset": "-05:30", "zone_name": "X"}})
    assert zone.utcoffset(None) == -timedelta(hours=5, minutes=30) and name == "X"
    with pytest.raises(RevisionDatesError, match=r"extra\.last_updated\.utc_offset.*\+08:00.*'UTC\+8'"):
        zone_from_config({"last_updated": {"utc_offset": "UTC+8"}})
