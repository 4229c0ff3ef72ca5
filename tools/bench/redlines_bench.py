#!/usr/bin/env python3
"""Benchmark of the red-line checker (not a test): throughput and peak memory.

Builds a synthetic corpus from the site's own pages (docs/**/*.md) at 1×, 10× and
100× and runs `check_markdown` over every page, printing chars/s, pages/s and the
peak traced memory (tracemalloc). Cost should grow linearly with the corpus.

Then the whole site as a trainer checks it, `python tools/redlines.py docs` in a new process:
with an empty cache (nothing memoised), with the rules and model memos only (--no-cache: every page is
checked), and with the findings of unchanged pages remembered (kb.redlines.results).

    python tools/bench/redlines_bench.py [--scales 1 10 100]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

from kb.redlines import check_markdown, load_rules  # noqa: E402
from kb.redlines.rules import _load_cached  # noqa: E402


def site_pages() -> list[tuple[str, str]]:
    docs = REPO / "docs"
    pages = []
    for p in sorted(docs.rglob("*.md")):
        if "_overrides" in p.parts:
            continue
        pages.append((str(p.relative_to(REPO)), p.read_text(encoding="utf-8")))
    return pages


def run(pages, scale: int) -> dict:
    corpus = [(f"{path}#{i}", text) for i in range(scale) for path, text in pages]
    chars = sum(len(t) for _, t in corpus)
    # Timing and memory in separate passes: tracing every allocation slows the checker
    # several-fold and would distort the throughput figures.
    t0 = time.perf_counter()
    findings = 0
    for path, text in corpus:
        findings += len(check_markdown(text, path))
    elapsed = time.perf_counter() - t0
    tracemalloc.start()
    for path, text in corpus:
        check_markdown(text, path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"scale": scale, "pages": len(corpus), "chars": chars, "seconds": elapsed,
            "chars_per_s": chars / elapsed, "pages_per_s": len(corpus) / elapsed,
            "peak_mib": peak / 2**20, "findings": findings}


def cli_runs(cache: str) -> None:
    """Wall time of `python tools/redlines.py docs` in new processes: cold, memo only, warm."""
    script = [sys.executable, str(REPO / "tools" / "redlines.py")]
    env = dict(os.environ, KB_CACHE_DIR=cache)
    env.pop("KB_NO_CACHE", None)
    runs = (("空缓存（首次）", [], True), ("只有规则与模型备忘（--no-cache，逐页检查）", ["--no-cache"], False),
            ("记住未改动页面的结果", [], False))
    for label, extra, clear in runs:
        if clear:
            for entry in Path(cache).glob("*"):
                entry.unlink()
        t0 = time.perf_counter()
        done = subprocess.run([*script, *extra, "docs"], cwd=REPO, env=env, capture_output=True, text=True)
        print(f"redlines docs，{label}：{time.perf_counter() - t0:.2f} s（退出码 {done.returncode}）")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    args = ap.parse_args()
    saved = os.environ.get("KB_CACHE_DIR")
    with tempfile.TemporaryDirectory(prefix="kb-bench-cache-") as cache:
        os.environ["KB_CACHE_DIR"] = cache
        rules_file = load_rules.__globals__["REDLINE_RULES_FILE"]
        for label in ("没有规则备忘（校验并编译全部正则）", "有规则备忘（不预先编译）"):
            t0 = time.perf_counter()
            _load_cached.__wrapped__(str(rules_file), rules_file.stat().st_mtime_ns)
            print(f"load_rules，{label}：{(time.perf_counter() - t0) * 1000:.1f} ms")
        cli_runs(cache)
        load_rules()  # for the throughput runs below, from this memo
    if saved is None:
        os.environ.pop("KB_CACHE_DIR")
    else:
        os.environ["KB_CACHE_DIR"] = saved
    t0 = time.perf_counter()
    load_rules()
    print(f"load_rules（同一进程内再次调用）：{(time.perf_counter() - t0) * 1e6:.1f} µs")
    pages = site_pages()
    t0 = time.perf_counter()
    load_rules().compile_all()
    check_markdown(pages[0][1], pages[0][0])  # OpenCC, the scanner and the learned model
    print(f"首次检查前的一次性准备（编译全部正则、载入 OpenCC 与模型）：{(time.perf_counter() - t0) * 1000:.0f} ms"
          "；下表是之后的稳态吞吐量")
    print(f"{'scale':>5} {'pages':>7} {'chars':>11} {'seconds':>8} {'chars/s':>11} {'pages/s':>9} {'peak MiB':>9} {'s/1×':>6}")
    base = None
    for scale in args.scales:
        r = run(pages, scale)
        base = base or r["seconds"] / scale
        print(f"{r['scale']:>5} {r['pages']:>7} {r['chars']:>11,} {r['seconds']:>8.3f} {r['chars_per_s']:>11,.0f} "
              f"{r['pages_per_s']:>9,.0f} {r['peak_mib']:>9.1f} {r['seconds'] / scale / base:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
