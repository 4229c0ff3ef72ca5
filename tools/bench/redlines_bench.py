#!/usr/bin/env python3
"""Benchmark of the red-line checker (not a test): throughput and peak memory.

Builds a synthetic corpus from the site's own pages (docs/**/*.md) at 1×, 10× and
100× and runs `check_markdown` over every page, printing chars/s, pages/s and the
peak traced memory (tracemalloc). Cost should grow linearly with the corpus.

    python tools/bench/redlines_bench.py [--scales 1 10 100]
"""

from __future__ import annotations

import argparse
import sys
import time
import tracemalloc
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tools"))

from kb.redlines import check_markdown, load_rules  # noqa: E402


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


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scales", type=int, nargs="+", default=[1, 10, 100])
    args = ap.parse_args()
    t0 = time.perf_counter()
    load_rules()
    print(f"load_rules (first call, compile): {(time.perf_counter() - t0) * 1000:.1f} ms")
    t0 = time.perf_counter()
    load_rules()
    print(f"load_rules (cached): {(time.perf_counter() - t0) * 1e6:.1f} µs")
    pages = site_pages()
    check_markdown(pages[0][1], pages[0][0])  # warm OpenCC and the scanner
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
