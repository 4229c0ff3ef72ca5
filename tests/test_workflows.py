"""Lint the GitHub Actions workflows: vendored JSON schema plus the publishing rules.

Rules (issue 2): pull requests run the full checks and upload the site without secrets;
pushes to main run the same checks, then deploy with upload-pages-artifact + deploy-pages;
deploy needs the check job, so a failing check never replaces the live site.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.y*ml"))
README_TEST_COMMAND = "python3 tools/dev.py test"
PAGES_PERMISSIONS = {"pages", "id-token"}


def load(path: Path) -> dict:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the bare key `on` as boolean True.
    if True in data:
        data["on"] = data.pop(True)
    return data


def steps(job: dict) -> list[dict]:
    return job.get("steps", [])


def uses(job: dict, action: str) -> list[dict]:
    return [step for step in steps(job) if str(step.get("uses", "")).split("@")[0] == action]


def run_text(job: dict) -> str:
    return "\n".join(str(step.get("run", "")) for step in steps(job))


@pytest.fixture(scope="module")
def site_workflow() -> dict:
    """The workflow that deploys Pages (exactly one must)."""
    deploying = [path for path in WORKFLOWS if "actions/deploy-pages" in path.read_text(encoding="utf-8")]
    assert len(deploying) == 1, f"应有且只有一个工作流发布 GitHub Pages，实际：{deploying}"
    return load(deploying[0])


def test_workflows_exist():
    assert WORKFLOWS, ".github/workflows/ 下没有工作流文件"


def test_workflows_match_vendored_github_schema():
    completed = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, WORKFLOWS)],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "ok -- validation done" in completed.stdout


def test_schema_check_rejects_a_broken_workflow(tmp_path):
    """The schema check is real: a job without runs-on/uses is rejected."""
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  check:\n    steps:\n      - run: echo hi\n", encoding="utf-8")
    completed = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
    )
    assert completed.returncode != 0


def test_triggers_cover_pull_requests_and_main(site_workflow):
    triggers = site_workflow["on"]
    assert "pull_request" in triggers
    assert "pull_request_target" not in triggers, "pull_request_target 会把密钥交给 fork 的代码"
    assert triggers["push"]["branches"] == ["main"]


def test_check_job_runs_the_readme_command(site_workflow):
    check = site_workflow["jobs"]["check"]
    commands = run_text(check)
    assert re.search(r"(^|\s)(bash )?\.ci/run\b", commands) or README_TEST_COMMAND in commands
    ci_run = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert README_TEST_COMMAND in ci_run
    assert README_TEST_COMMAND in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    # The deployed site is the strict build made after the checks, in the same job.
    assert "python3 tools/dev.py build" in commands
    order = [str(step.get("run", "")) + str(step.get("uses", "")) for step in steps(check)]
    test_index = next(i for i, text in enumerate(order) if ".ci/run" in text or README_TEST_COMMAND in text)
    build_index = next(i for i, text in enumerate(order) if "tools/dev.py build" in text)
    upload_index = next(i for i, text in enumerate(order) if "upload-pages-artifact" in text)
    assert test_index < build_index < upload_index


def test_check_job_has_full_history_for_revision_dates(site_workflow):
    checkout = uses(site_workflow["jobs"]["check"], "actions/checkout")
    assert checkout and checkout[0].get("with", {}).get("fetch-depth") == 0


def test_deploy_only_after_checks_and_only_on_main(site_workflow):
    deploy = site_workflow["jobs"]["deploy"]
    needs = deploy["needs"] if isinstance(deploy["needs"], list) else [deploy["needs"]]
    assert "check" in needs
    condition = deploy["if"]
    assert "github.event_name == 'push'" in condition and "refs/heads/main" in condition
    assert uses(deploy, "actions/deploy-pages")
    upload = uses(site_workflow["jobs"]["check"], "actions/upload-pages-artifact")
    assert upload and upload[0]["with"]["path"].rstrip("/") == "site"
    assert "refs/heads/main" in upload[0]["if"]
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["concurrency"]["group"] == "pages"


def test_pages_permissions_only_on_deploy(site_workflow):
    top = site_workflow.get("permissions", {})
    assert not PAGES_PERMISSIONS & set(top), f"顶层权限不应包含 {PAGES_PERMISSIONS}：{top}"
    assert top.get("contents") == "read"
    for name, job in site_workflow["jobs"].items():
        granted = {key for key, value in (job.get("permissions") or {}).items() if value == "write"}
        if name == "deploy":
            assert PAGES_PERMISSIONS <= granted
        else:
            assert not PAGES_PERMISSIONS & granted, f"作业 {name} 不应有 Pages 权限"


def test_pull_request_path_needs_no_secrets(site_workflow):
    for path in WORKFLOWS:
        assert "secrets." not in path.read_text(encoding="utf-8"), f"{path.name} 引用了密钥，fork 的 PR 无法运行"
    preview = [step for step in uses(site_workflow["jobs"]["check"], "actions/upload-artifact") if "pull_request" in str(step.get("if", ""))]
    assert preview and preview[0]["with"]["path"].rstrip("/") == "site"


def test_ci_run_is_executable_bash():
    ci_run = REPO_ROOT / ".ci" / "run"
    assert ci_run.stat().st_mode & 0o111, ".ci/run 必须可执行"
    assert ci_run.read_text(encoding="utf-8").startswith("#!/usr/bin/env bash")
    commands = [line for line in ci_run.read_text(encoding="utf-8").splitlines() if line.strip() and not line.startswith("#")]
    assert commands[-1].strip() in {README_TEST_COMMAND, f"exec {README_TEST_COMMAND}"}
