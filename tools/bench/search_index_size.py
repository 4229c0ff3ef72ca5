"""Print what the browser downloads for search, per edition: Material's format vs ours.

Usage:
    python tools/bench/search_index_size.py [SITE_DIR]

Without SITE_DIR the site is built into a temporary directory first (mkdocs build --strict).
"Material" is the same index serialised as Material writes it (json.dumps with \\uXXXX
escapes, compact separators, no keywords); "本站" is the file actually written.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from kb.search_index import CHARMAP_KEY, HANT_LANGUAGE, KEYWORDS_FIELD, SOURCE_LANGUAGE, index_path

REPO_ROOT = Path(__file__).resolve().parents[2]


def material_bytes(index: dict) -> bytes:
    """The edition's index as Material's search plugin would have written it."""
    config = {k: v for k, v in index["config"].items() if k != CHARMAP_KEY}
    docs = [{k: v for k, v in doc.items() if k != KEYWORDS_FIELD} for doc in index["docs"]]
    return json.dumps({"config": config, "docs": docs}, separators=(",", ":"), default=str).encode("utf-8")


def measure(site_dir: Path) -> list[tuple[str, int, int, int, int, int]]:
    rows = []
    for language in (SOURCE_LANGUAGE, HANT_LANGUAGE):
        path = index_path(site_dir, language)
        ours = path.read_bytes()
        before = material_bytes(json.loads(ours))
        rows.append(
            (
                language,
                len(json.loads(ours)["docs"]),
                len(before),
                len(ours),
                len(gzip.compress(before, 9)),
                len(gzip.compress(ours, 9)),
            )
        )
    return rows


def main(argv: list[str]) -> int:
    if argv:
        site_dir = Path(argv[0])
    else:
        site_dir = Path(tempfile.mkdtemp(prefix="kb-bench-")) / "site"
        env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
        done = subprocess.run(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site_dir)],
            cwd=REPO_ROOT, env=env, capture_output=True, text=True,
        )
        if done.returncode:
            print(done.stdout + done.stderr)
            print("构建失败，无法测量搜索索引大小；请先修复上面的构建错误。")
            return 1
    print(f"搜索索引大小（{site_dir}）")
    print(f"{'版本':<8}{'条目':>6}{'Material 原格式':>16}{'本站':>12}{'缩小':>8}{'gzip 前':>12}{'gzip 后':>12}")
    for language, entries, before, after, gz_before, gz_after in measure(site_dir):
        print(
            f"{language:<8}{entries:>6}{before:>16,}{after:>12,}{1 - after / before:>8.0%}"
            f"{gz_before:>12,}{gz_after:>12,}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
