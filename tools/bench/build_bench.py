#!/usr/bin/env python3
"""Benchmark of the 催收知识库 build hooks (not a test; prints a table).

- Synthetic sites of N pages made from the real content (the docs tree copied until N
  pages exist, script ids made unique per copy), built with and without hooks/kb_build.py:
  wall time and peak RSS of the build process.
- Builds with hooks run three times: with an empty cache directory (KB_CACHE_DIR; the first
  build after a fresh clone), with only the tools' memos kept (red-line rules, learned model,
  jieba's dictionary; every page is new content: what new pages cost once the tools are loaded), and with the whole
  cache of the previous build (a trainer's next build, or CI's next run). Copies
  get a line of their own so no two pages have the same text (a real site has no duplicates;
  identical pages would hit the findings cache within one build). Besides wall time, each
  build reports the hooks' own time in the build process and the forked checker's
  (KB_HOOK_TIMING_FILE): that share of the same build does not drift with the machine.
- The real site: full `mkdocs build --strict` (both editions), cold and warm, and the rebuild time of
  `mkdocs serve` after one page is edited, for the default preview (Simplified edition
  only) and with KB_PREVIEW_ALL_EDITIONS=1 (both editions).

Usage: python tools/bench/build_bench.py [--sizes 200 1000 3000] [--skip-real] [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
from kb import search_index  # noqa: E402
from kb.editions import ALL_EDITIONS_ENV  # noqa: E402
from kb.redlines import learned  # noqa: E402
from kb.redlines.compiled import RulesMemo  # noqa: E402
SITE_INPUTS = ("mkdocs.yml", "docs", "hooks", "tools")
SKIP_DIRS = {"_includes", "_overrides", "assets"}
HOOK_LINE = "  - hooks/kb_build.py\n"
GENERATOR_MARKER = re.compile(r"^[ \t]*<!--[ \t]*kb:generate[^\n]*-->[ \t]*$", re.M)
# Runs one build in a child process and reports that process's peak RSS (KiB on Linux).
RUNNER = (
    "import resource, sys\n"
    "from mkdocs.__main__ import cli\n"
    "try:\n"
    "    cli(sys.argv[1:], standalone_mode=False)\n"
    "finally:\n"
    "    print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
)


def copy_project(target: Path) -> None:
    for name in SITE_INPUTS:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target / name)


def content_pages(docs: Path) -> list[Path]:
    return [p for p in docs.rglob("*.md") if not (set(p.relative_to(docs).parts) & SKIP_DIRS)]


def make_synthetic(target: Path, pages: int) -> int:
    """Copy the project, then add copies of the content tree under docs/copy-K/ until `pages` pages exist."""
    copy_project(target)
    docs = target / "docs"
    originals = content_pages(docs)
    texts = {p.relative_to(docs): p.read_text(encoding="utf-8", errors="replace") for p in originals}
    script_ids = sorted({m for text in texts.values() for m in re.findall(r"^id:\s*([a-z0-9-]+)", text, re.M)},
                        key=len, reverse=True)
    id_pattern = re.compile(r"(?<![\w-])(" + "|".join(map(re.escape, script_ids)) + r")(?![\w-])") if script_ids else None
    count, copy = len(originals), 0
    while count < pages:
        copy += 1
        for relative, text in texts.items():
            if count >= pages:
                break
            if id_pattern is not None:
                text = id_pattern.sub(lambda m: f"{m.group(1)}-c{copy}", text)
            # Generated pages list the whole site; copies of them would make the content grow
            # quadratically. A real site has one set, so copies keep only hand-written text.
            text = GENERATOR_MARKER.sub("", text)
            text += f"\n\n（基准测试副本 {copy}。）\n"
            out = docs / f"copy-{copy}" / relative
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
            count += 1
    # Let MkDocs build the nav from the files (the copies are not in the hand-written nav).
    config = (target / "mkdocs.yml").read_text(encoding="utf-8")
    config = re.sub(r"(?ms)^nav:\n.*?(?=^\S|\Z)", "", config)
    (target / "mkdocs.yml").write_text(config, encoding="utf-8")
    return count


def set_hooks(project: Path, enabled: bool) -> None:
    config_file = project / "mkdocs.yml"
    config = config_file.read_text(encoding="utf-8")
    if enabled and HOOK_LINE not in config:
        config = config.replace("hooks:\n", "hooks:\n" + HOOK_LINE, 1)
    if not enabled:
        config = config.replace(HOOK_LINE, "")
    config_file.write_text(config, encoding="utf-8")


def timed_build(project: Path, *extra: str, cache: Path | None = None) -> tuple[float, int, int, float, float]:
    """(seconds, peak RSS in MiB, exit status, seconds inside the hooks in the build process, seconds
    of the forked checker) of one `mkdocs build` of `project`; `cache`: the cache directory to use
    (default: a new, empty one = a cold build)."""
    # Report-only: content problems must not cut the build short (that would skip the second edition).
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(project / "tools"), KB_REPORT_ONLY="1")
    env.pop("KB_NO_CACHE", None)
    if cache is None:
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=project))
    env["KB_CACHE_DIR"] = str(cache)
    if "--strict" in extra:
        env.pop("KB_REPORT_ONLY")
    site_dir = project / "site"
    timing = project / "hook-seconds.txt"
    timing.unlink(missing_ok=True)
    env["KB_HOOK_TIMING_FILE"] = str(timing)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", RUNNER, "build", "-q", "-d", str(site_dir), *extra],
                          cwd=project, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    peak = re.search(r"PEAK_RSS_KB (\d+)", done.stderr)
    # Time spent inside hooks/kb_build.py in the build process, and by its checker process.
    hooks, checker = map(float, timing.read_text().split()) if timing.exists() else (0.0, 0.0)
    return elapsed, int(peak.group(1)) // 1024 if peak else -1, done.returncode, hooks, checker


# Memos that depend on the tools alone (rules file, learned model, jieba's dictionary), not on
# any page: a trainer's new pages find them as every build after the first does.
TOOL_MEMO_KINDS = (RulesMemo.KIND, learned.MEMO_KIND, search_index.PREFIX_KIND)


def keep_only_tool_memos(cache: Path) -> None:
    """Empty a cache directory except the tools' memos: every page is new content again."""
    for entry in cache.iterdir():
        if entry.name.startswith(tuple(f"{kind}-" for kind in TOOL_MEMO_KINDS)):
            continue
        shutil.rmtree(entry) if entry.is_dir() else entry.unlink()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_rebuild(project: Path, all_editions: bool = False, timeout: float = 600) -> tuple[float, float]:
    """(initial build seconds, rebuild seconds after editing one page) of `mkdocs serve`:
    the default preview (Simplified edition only) or, with all_editions, both editions."""
    port = _free_port()
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1", PYTHONPATH=str(project / "tools"), PYTHONUNBUFFERED="1")
    env["KB_CACHE_DIR"] = tempfile.mkdtemp(prefix="cache-", dir=project)  # cold start, as after a fresh clone
    env.pop(ALL_EDITIONS_ENV, None)
    if all_editions:
        env[ALL_EDITIONS_ENV] = "1"
    # Preview as trainers do, but keep serving even if the content has warnings right now.
    config_file = project / "mkdocs.yml"
    config_file.write_text(config_file.read_text(encoding="utf-8").replace("\nstrict: true\n", "\nstrict: false\n"),
                           encoding="utf-8")
    process = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "-a", f"127.0.0.1:{port}"], cwd=project,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        start = time.perf_counter()
        initial = _wait_for(process, "Serving on", start, timeout)
        time.sleep(1)
        page = project / "docs" / "scripts" / "first-contact.md"
        page.write_text(page.read_text(encoding="utf-8") + f"\n\n（基准测试：编辑一处，{time.time()}。）\n",
                        encoding="utf-8")
        edited = time.perf_counter()
        _wait_for(process, "Detected file changes", edited, timeout)
        rebuild = _wait_for(process, "Reloading browsers", edited, timeout)
        return initial, rebuild
    finally:
        process.terminate()
        process.wait(timeout=30)


def _wait_for(process: subprocess.Popen, text: str, since: float, timeout: float) -> float:
    while time.perf_counter() - since < timeout:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError(f"mkdocs serve exited before printing {text!r}")
        if text in line:
            return time.perf_counter() - since
    raise TimeoutError(text)


HOOK_MODES = ("cold", "new_pages", "warm")


def added_share(values: list[float], without: list[float]) -> str:
    """How much longer than without hooks: each build against the build without hooks of the same
    round (the rounds run minutes apart, and the machine's speed drifts between them), median over rounds."""
    return f"{median([v / base - 1 for v, base in zip(values, without)]) * 100:+.1f} %"


def hook_shares(runs: list[tuple]) -> tuple[str, str]:
    """Medians of (hook seconds in the build process with their share of that same build, checker seconds)."""
    inside = median([r[3] for r in runs])
    ratio = median([r[3] / r[0] * 100 for r in runs if r[0] > 0])
    return f"{inside:.2f} s（{ratio:.1f} %）", f"{median([r[4] for r in runs]):.2f} s"


def spread(values: list[float]) -> str:
    """"8.4 s" for one run; "8.4 s（7.9–9.6）" — the median and the range — for several."""
    if len(values) == 1:
        return f"{values[0]:.1f} s"
    return f"{median(values):.1f} s（{min(values):.1f}–{max(values):.1f}）"


def synthetic_runs(project: Path, repeat: int) -> dict[str, list[tuple]]:
    """Each mode's builds, the modes taking turns so that the machine's drift hits them alike."""
    runs: dict[str, list[tuple]] = {"without": [], "cold": [], "new_pages": [], "warm": []}
    for _ in range(repeat):
        set_hooks(project, False)
        runs["without"].append(timed_build(project))
        set_hooks(project, True)
        cache = Path(tempfile.mkdtemp(prefix="cache-", dir=project))
        runs["cold"].append(timed_build(project, cache=cache))
        runs["warm"].append(timed_build(project, cache=cache))
        keep_only_tool_memos(cache)
        runs["new_pages"].append(timed_build(project, cache=cache))
        shutil.rmtree(cache)
    return runs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=[200, 1000, 3000])
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run every measurement this many times, in turns, and print the median and range "
                             "(a shared VM drifts by 20 %% between runs)")
    args = parser.parse_args()
    repeat = max(1, args.repeat)
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix=f"kb-bench-{size}-") as tmp:
            project = Path(tmp)
            pages = make_synthetic(project, size)
            runs = synthetic_runs(project, repeat)
            seconds = {mode: [r[0] for r in built] for mode, built in runs.items()}
            share = {mode: added_share(values, seconds["without"]) for mode, values in seconds.items()}
            statuses = "/".join(str(r[2]) for mode in ("without", "cold", "new_pages", "warm") for r in runs[mode])
            peaks = (max(r[1] for r in runs["without"]), max(r[1] for r in runs["cold"]))
            inside = {mode: hook_shares(runs[mode]) for mode in HOOK_MODES}
            rows.append((pages, seconds, share, peaks, inside))
            print(f"{pages:>5} 页  无钩子 {spread(seconds['without'])} | 有钩子：空缓存 {spread(seconds['cold'])}"
                  f"（{share['cold']}）、只有工具备忘 {spread(seconds['new_pages'])}（{share['new_pages']}）、"
                  f"再次构建 {spread(seconds['warm'])}（{share['warm']}）  (退出码 {statuses})", flush=True)
    if rows:
        print("\n“只有工具备忘”：缓存里只留与页面无关的备忘（红线规则的编译结果、学习型模型、jieba 词典，每个版本只做一次），"
              "其余（各页检查结果、分词、模板）都要重做，相当于全部页面都是新内容。")
        if repeat > 1:
            print(f"每项运行 {repeat} 轮（每轮各模式依次构建一次），表中是中位数，括号里是最小–最大；"
                  "“增加”是每轮与同一轮无钩子构建之比的中位数（轮与轮之间机器快慢会变）。")
        print("\n| 页面数 | 无钩子 (s) | 有钩子，空缓存 (s) | 增加 | 有钩子，只有工具备忘 (s) | 增加 | 有钩子，再次构建 (s) | 增加 | 峰值内存 无/有 (MiB) |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for pages, seconds, share, peaks, _ in rows:
            print(f"| {pages} | {spread(seconds['without'])} | {spread(seconds['cold'])} | {share['cold']} | "
                  f"{spread(seconds['new_pages'])} | {share['new_pages']} | {spread(seconds['warm'])} | {share['warm']} | "
                  f"{peaks[0]} / {peaks[1]} |")
        print("\n钩子自身的耗时，在同一次构建里计时（分子分母同受机器快慢影响，所以不随漂移变化）："
              "“构建进程内”= 钩子函数在构建进程里的时间（含等待检查进程），占该次构建的比例；"
              "“检查进程”= 另一个核上的检查进程的时间（与渲染并行，不直接加在构建时间上）。"
              "不含生成页面的 Markdown 渲染（固定大小的几页，约 0.3 s）。\n")
        print("| 页面数 | 空缓存：构建进程内 | 检查进程 | 只有工具备忘：构建进程内 | 检查进程 | 再次构建：构建进程内 | 检查进程 |")
        print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for pages, _, _, _, inside in rows:
            print(f"| {pages} | " + " | ".join(f"{inside[mode][0]} | {inside[mode][1]}" for mode in HOOK_MODES) + " |")
    if not args.skip_real:
        with tempfile.TemporaryDirectory(prefix="kb-bench-real-") as tmp:
            project = Path(tmp)
            copy_project(project)
            cold, warm, statuses, peak = [], [], [], 0
            for _ in range(repeat):
                cache = Path(tempfile.mkdtemp(prefix="cache-", dir=project))
                for into in (cold, warm):
                    seconds, used, status, *_ = timed_build(project, "--strict", cache=cache)
                    into.append(seconds)
                    statuses.append(status)
                    peak = max(peak, used)
                shutil.rmtree(cache)
            print(f"\n真实站点 mkdocs build --strict（简体 + 繁体）：首次（空缓存）{spread(cold)}，"
                  f"再次构建 {spread(warm)}，峰值 {peak} MiB，退出码 {'/'.join(map(str, statuses))}")
            for all_editions, label in ((False, "默认预览，只生成简体版"), (True, f"{ALL_EDITIONS_ENV}=1，两个版本")):
                measured = [serve_rebuild(project, all_editions=all_editions) for _ in range(repeat)]
                print(f"mkdocs serve（{label}）：首次构建 {spread([m[0] for m in measured])}；"
                      f"编辑一页后重建 {spread([m[1] for m in measured])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
