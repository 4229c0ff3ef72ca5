"""The `python tools/redlines.py` command line: exit codes, formats, --explain, --list-rules."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from kb.paths import REDLINE_RULES_FILE

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "tools" / "redlines.py"


def run(*args, cwd=REPO):
    proc = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, encoding="utf-8")
    return proc


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_clean_file_exits_0(tmp_path):
    p = write(tmp_path, "ok.md", "# 标题\n\n逾期信息会按规定报送征信。\n")
    r = run(p)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "未发现" in r.stderr


def test_violation_exits_1_with_human_output(tmp_path):
    p = write(tmp_path, "bad.md", "# 标题\n\n你再不还，就等着坐牢吧。\n")
    r = run(p)
    assert r.returncode == 1
    line = r.stdout.splitlines()[0]
    assert line.startswith(f"{p}:3:") and "R07 error" in line and "→" in line


def test_json_and_github_formats(tmp_path):
    p = write(tmp_path, "bad.md", "你再不还，就等着坐牢吧。\n<!-- redline-disable R01: 多余 -->\n好的。\n")
    r = run("--format", "json", p)
    data = json.loads(r.stdout)
    assert {"path", "line", "column", "rule", "severity", "message", "match", "suggestion"} <= set(data[0])
    assert [d["rule"] for d in data] == ["R07", "MD06"]
    r = run("--format", "github", p)
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"::error file={p},line=1,col=")
    assert lines[1].startswith("::warning file=")


def test_fail_on_levels(tmp_path):
    p = write(tmp_path, "warn.md", "<!-- redline-disable R07: 多余 -->\n好的。\n")
    assert run(p).returncode == 0
    assert run("--fail-on", "warning", p).returncode == 1


def test_non_utf8_file_exits_2_naming_it(tmp_path):
    p = tmp_path / "gbk.md"
    p.write_bytes("你再不还就坐牢".encode("gbk"))
    r = run(p)
    assert r.returncode == 2
    assert str(p) in r.stderr and "UTF-8" in r.stderr


def test_missing_path_and_bad_option_exit_2(tmp_path):
    assert run(tmp_path / "nope.md").returncode == 2
    assert run("--format", "xml").returncode == 2


def test_invalid_rules_file_exits_2_naming_the_rule(tmp_path):
    raw = yaml.safe_load(REDLINE_RULES_FILE.read_text(encoding="utf-8"))
    raw["rules"][8]["match"]["patterns"][0] = "([未闭合"
    rules = write(tmp_path, "rules.yml", yaml.safe_dump(raw, allow_unicode=True))
    target = write(tmp_path, "ok.md", "好的。\n")
    r = run("--rules", rules, target)
    assert r.returncode == 2
    assert "R09" in r.stderr and "正则" in r.stderr


def test_explain_and_list_rules():
    r = run("--explain", "r07")
    assert r.returncode == 0
    assert "R07" in r.stdout and "刑法第196条" in r.stdout and "✗" in r.stdout and "✓" in r.stdout
    r = run("--list-rules")
    assert r.returncode == 0 and len([l for l in r.stdout.splitlines() if l.startswith("R")]) >= 16
    assert run("--explain", "R99").returncode == 2


def test_default_checks_docs_from_repo_root():
    r = run("--format", "json")
    assert r.returncode in (0, 1)
    paths = {d["path"] for d in json.loads(r.stdout)}
    assert not any("_overrides" in p for p in paths)


def test_parallel_check_reports_exactly_what_one_process_reports(tmp_path):
    # Enough text for workers; violations in several files so order and grouping are visible.
    pages = sorted((REPO / "docs").rglob("*.md"))[:30]
    for i, page in enumerate(pages):
        extra = "\n\n你再不还，就等着坐牢吧。\n" if i % 7 == 0 else ""
        write(tmp_path, f"p{i:02d}.md", page.read_text(encoding="utf-8") + extra)
    write(tmp_path, "note.txt", "告诉他领导他欠了银行好几万不还。\n")
    one = run("--format", "json", "-j", "1", tmp_path)
    two = run("--format", "json", "-j", "2", tmp_path)
    assert one.returncode == two.returncode == 1
    assert json.loads(two.stdout) == json.loads(one.stdout)
    assert {f["path"].rsplit("/", 1)[-1] for f in json.loads(one.stdout)} >= {"p00.md", "p07.md", "note.txt"}


def test_jobs_must_be_a_positive_integer(tmp_path):
    r = run("--jobs", "0", tmp_path)
    assert r.returncode == 2 and "应为正整数" in r.stderr
