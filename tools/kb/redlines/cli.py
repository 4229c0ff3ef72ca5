"""Command line: `redlines [PATH…]` / `python tools/redlines.py [PATH…]`.

Exit status: 0 clean, 1 findings at or above --fail-on, 2 usage error, unreadable or
non-UTF-8 file, or invalid rules file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import learned
from .batch import Source, check_sources
from .rules import SEVERITIES, SEVERITY_LABELS, SEVERITY_RANK, SOURCE_STATUS, RulesError, load_rules

DEFAULT_PATHS = ("docs",)
SKIP_DIRS = {"_overrides", ".git", "__pycache__", "node_modules", ".venv", "site"}
DIR_SUFFIXES = {".md", ".markdown", ".txt"}
MARKDOWN_SUFFIXES = {".md", ".markdown"}
GITHUB_LEVEL = {"error": "error", "warning": "warning", "suggestion": "notice"}


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse's own errors: Chinese hint, exit 2
        self.print_usage(sys.stderr)
        print(f"redlines：参数错误：{message}", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="redlines", description="按合规红线（R01–R16）检查 Markdown 页面和文本文件。")
    p.add_argument("paths", nargs="*", help="要检查的文件或目录（默认 docs/；目录下检查 .md/.txt，跳过 docs/_overrides）")
    p.add_argument("--format", choices=("text", "json", "github"), default="text", help="输出格式（默认 text）")
    p.add_argument("--fail-on", choices=SEVERITIES, default="error", help="达到该级别即以 1 退出（默认 error）")
    p.add_argument("--rules", metavar="FILE", help="使用另一个规则文件（默认 tools/kb/data/redlines.yml）")
    p.add_argument("--explain", metavar="RULE", help="显示一条规则的说明、依据和示例，如 --explain R07")
    p.add_argument("--list-rules", action="store_true", help="列出全部规则")
    p.add_argument("--no-cache", action="store_true",
                   help="不使用检查结果缓存，每个文件都重新检查（缓存位置见 KB_CACHE_DIR）")
    p.add_argument("--jobs", "-j", type=_positive_int, metavar="N",
                   help="同时使用的进程数（默认：文件较多时每个 CPU 一个，较少时一个）")
    return p


def _positive_int(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"应为正整数，而不是 {value!r}")
    return n


def _collect(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            for root, dirs, names in os.walk(p):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
                for name in sorted(names):
                    if Path(name).suffix.lower() in DIR_SUFFIXES:
                        files.append(Path(root) / name)
        elif p.is_file():
            files.append(p)
        else:
            raise UsageError(f"找不到文件或目录：{raw}")
    return files


def _explain(rs, rule_id: str) -> str:
    rid = rule_id.upper()
    if rid not in rs.by_id:
        raise UsageError(f"没有编号为 {rule_id} 的规则（可用 --list-rules 查看全部规则）")
    r = rs.by_id[rid]
    lines = [f"{r.id} {r.name}  [{SEVERITY_LABELS[r.severity]} {r.severity}]", "", f"禁止：{r.prohibits}", "", "依据："]
    for src in r.sources:
        lines.append(f"  - {src['ref']}（{SOURCE_STATUS[src['status']]}）")
    lines += ["", f"合规做法：{r.suggestion}", "", "违规示例："]
    lines += [f"  ✗ {s}" for s in r.examples_bad]
    lines += ["合规示例："]
    lines += [f"  ✓ {s}" for s in r.examples_good]
    covered = learned.covered_rules(rs)
    if r.id in covered:
        lines += ["", f"另有学习型检测器（按句分类，概率 ≥ {covered[r.id]:.2f} 时报告，与规则的结果取并集；"
                      "JSON 输出中 detector 为 learned）"]
    if r.check == "contact_time":
        cw = rs.policy["contact_window"]
        lines += ["", f"联系时段：{cw['start']}–{cw['end']}（{cw['label']}）；{rs.policy['max_calls_label']}"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        rs = load_rules(args.rules)
    except RulesError as exc:
        print(f"redlines：{exc}", file=sys.stderr)
        return 2
    try:
        if args.list_rules:
            for r in rs.rules:
                print(f"{r.id}  {SEVERITY_LABELS[r.severity]:<2}  {r.name}")
            return 0
        if args.explain:
            print(_explain(rs, args.explain))
            return 0
        files = _collect(args.paths or list(DEFAULT_PATHS))
    except UsageError as exc:
        print(f"redlines：{exc}", file=sys.stderr)
        return 2
    sources = []
    unreadable = False
    for f in files:
        try:
            text = f.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            print(f"redlines：{f}：不是 UTF-8 编码的文本（第 {exc.start} 字节处），请另存为 UTF-8 后再检查", file=sys.stderr)
            unreadable = True
            continue
        except OSError as exc:
            print(f"redlines：{f}：无法读取（{exc.strerror}）", file=sys.stderr)
            unreadable = True
            continue
        sources.append(Source(str(f), text.removeprefix("\ufeff"), f.suffix.lower() in MARKDOWN_SUFFIXES))
    try:
        # Files checked before by this exact checker (rules, model, code) come from the cache;
        # checking any other file loads the model, and a missing or broken one ends here.
        checked = check_sources(sources, rs, args.jobs, cache=not args.no_cache)
    except RulesError as exc:
        print(f"redlines：{exc}", file=sys.stderr)
        return 2
    findings = [finding for per_file in checked for finding in per_file]
    _print(findings, args.format, len(files))
    if unreadable:
        return 2
    threshold = SEVERITY_RANK[args.fail_on]
    return 1 if any(SEVERITY_RANK.get(f.severity, 2) >= threshold for f in findings) else 0


def _print(findings, fmt: str, n_files: int) -> None:
    if fmt == "json":
        print(json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=2))
        return
    if fmt == "github":
        for f in findings:
            msg = f"{f.rule} {f.message}  →  {f.suggestion}".replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
            print(f"::{GITHUB_LEVEL.get(f.severity, 'error')} file={f.path},line={f.line},col={f.column},title={f.rule}::{msg}")
        return
    for f in findings:
        tail = f"  →  {f.suggestion}" if f.suggestion else ""
        print(f"{f.path}:{f.line}:{f.column}  {f.rule} {f.severity}  {f.message}{tail}")
    counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    summary = f"检查了 {n_files} 个文件：错误 {counts['error']}，警告 {counts['warning']}，建议 {counts['suggestion']}。"
    print(summary if findings else f"检查了 {n_files} 个文件，未发现红线问题。", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
