"""The "最后更新" date under each page: when a commit last touched its source file.

One `git log` over the docs folder gives every page's date (about 15 ms), where the
mkdocs-git-revision-date-localized plugin ran one `git log --follow` per page in a process
pool (about a second of every build here, issue 5). The newest commit touching a path is
the same with or without --follow, so the dates do not change.

A page with no commit yet (a trainer's new page) or a copy without git history (a tarball,
a test site) shows the build date instead, and the build never fails over dates.
"""

from __future__ import annotations

import re
import subprocess
import time
from datetime import datetime, timedelta, timezone
from html import escape
from pathlib import Path

# Starts the commit lines of our `git log` format (%x00); a file name cannot contain a NUL.
_COMMIT_MARK = "\0"
_UTC_OFFSET = re.compile(r"^(?P<sign>[+-])(?P<hours>\d{2}):(?P<minutes>\d{2})$")
# Where mkdocs.yml configures the dates (extra.last_updated).
CONFIG_KEY = "last_updated"
DEFAULTS = {"utc_offset": "+08:00", "zone_name": "北京时间"}


class RevisionDatesError(ValueError):
    """extra.last_updated in mkdocs.yml is not usable."""


def last_commit_times(docs_dir: Path | str, runner=subprocess.run) -> dict[str, int]:
    """Path relative to docs_dir (as MkDocs' src_uri) → Unix time of the newest commit that
    touched it. Empty when docs_dir has no git history (or git is missing)."""
    command = [
        "git", "-c", "core.quotePath=false", "log",
        "--format=%x00%ct", "--name-only", "--relative", "--", ".",
    ]
    try:
        result = runner(command, cwd=str(docs_dir), capture_output=True, check=False)
    except OSError:  # no git installed
        return {}
    if result.returncode != 0:  # not a repository, no commits yet
        return {}
    return parse_log(result.stdout.decode("utf-8", errors="surrogateescape"))


def parse_log(output: str) -> dict[str, int]:
    """Read `git log --format=<NUL>%ct --name-only` output: newest commit first."""
    times: dict[str, int] = {}
    current: int | None = None
    for line in output.splitlines():
        if line.startswith(_COMMIT_MARK):
            current = int(line[1:])
        elif line and current is not None:
            times.setdefault(line, current)  # the first (newest) commit wins
    return times


def zone_from_config(extra: dict) -> tuple[timezone, str]:
    """The time zone the dates are shown in, from mkdocs.yml (extra.last_updated)."""
    settings = {**DEFAULTS, **((extra or {}).get(CONFIG_KEY) or {})}
    match = _UTC_OFFSET.match(str(settings["utc_offset"]))
    if match is None:
        raise RevisionDatesError(
            f"mkdocs.yml 的 extra.{CONFIG_KEY}.utc_offset 应写成 +08:00 这样的格式，现在是 {settings['utc_offset']!r}"
        )
    offset = timedelta(hours=int(match["hours"]), minutes=int(match["minutes"]))
    return timezone(-offset if match["sign"] == "-" else offset), str(settings["zone_name"])


def date_html(timestamp: float, zone: timezone, zone_name: str) -> str:
    """What the page shows: the date, with the exact time as a tooltip."""
    moment = datetime.fromtimestamp(timestamp, zone)
    day = f"{moment.year}年{moment.month}月{moment.day}日"
    title = f"{day} {moment:%H:%M:%S} {zone_name}"
    return f'<time class="kb-updated" datetime="{moment.isoformat()}" title="{escape(title)}">{day}</time>'


class RevisionDates:
    """Dates for one build: git is asked once per build, not once per page or per edition."""

    def __init__(self) -> None:
        self.times: dict[str, int] = {}
        self.build_time = time.time()
        self.zone, self.zone_name = zone_from_config({})

    def configure(self, extra: dict) -> None:
        """Take the time zone from mkdocs.yml (extra); RevisionDatesError names a bad value."""
        self.zone, self.zone_name = zone_from_config(extra)

    def refresh(self, docs_dir: Path | str) -> None:
        self.times = last_commit_times(docs_dir)
        self.build_time = time.time()

    def html_for(self, src_uri: str) -> str:
        return date_html(self.times.get(src_uri, self.build_time), self.zone, self.zone_name)
