"""`kb-check [--changed] [FILES…]`: the build's fast checks without building the site.

Runs every check the MkDocs hooks run (front matter, call scripts, snippets, script-id
links, orphans, glossary, generator markers, red lines) from the project's mkdocs.yml.
With file names, reports only problems in those files (site-wide checks still see every
page, so duplicate ids and cross-references stay correct). Exit status 1 on problems.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _find_config(start: Path) -> Path | None:
    for folder in [start, *start.parents]:
        candidate = folder / "mkdocs.yml"
        if candidate.is_file():
            return candidate
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kb-check", description="检查知识库页面（不构建网站）。")
    parser.add_argument("files", nargs="*", help="只报告这些文件中的问题（默认检查全站）")
    parser.add_argument("--changed", action="store_true", help="兼容写法：其后的文件名即改动的文件")
    parser.add_argument("-f", "--config-file", type=Path, help="mkdocs.yml 路径（默认向上查找）")
    parser.add_argument("--no-redlines", action="store_true", help="跳过红线检查")
    args = parser.parse_args(argv)

    config_file = args.config_file or _find_config(Path.cwd())
    if config_file is None:
        print("kb-check：找不到 mkdocs.yml，请在项目目录中运行。", file=sys.stderr)
        return 2
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")
    from mkdocs.config import load_config

    from kb.site import build_site
    from kb.validate import check_site

    config = load_config(config_file=str(config_file))
    site = build_site(config)
    only = None
    if args.files:
        docs_dir = Path(config["docs_dir"]).resolve()
        only = set()
        for name in args.files:
            path = Path(name).resolve()
            try:
                relative = path.relative_to(docs_dir).as_posix()
            except ValueError:
                continue  # not a page (e.g. a file under tools/): nothing page-level to check
            only.add(relative)
        if not only:
            return 0
    problems = check_site(site, only=only, redlines=not args.no_redlines)
    for item in problems:
        print(item.format())
    if problems:
        print(f"kb-check：发现 {len(problems)} 个问题。各报错的含义见 docs/guide/build-errors.md。", file=sys.stderr)
        return 1
    print(f"kb-check：检查了 {len(only) if only is not None else len(site.pages)} 个页面，没有发现问题。", file=sys.stderr)
    return 0


if __name__ == "__main__":  # python -m kb.cli
    sys.exit(main())
