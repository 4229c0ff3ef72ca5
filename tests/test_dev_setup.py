"""tools/dev.py: standard-library only, idempotent installs, honest exit codes, a lock that matches pyproject."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_SCRIPT = REPO_ROOT / "tools" / "dev.py"
LOCK_FILE = REPO_ROOT / "requirements.lock"
PYPROJECT = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))


@pytest.fixture
def dev(monkeypatch, tmp_path):
    """tools/dev.py loaded as a module, pointed at a throw-away venv/lock/pyproject."""
    spec = importlib.util.spec_from_file_location("kb_dev_under_test", DEV_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lock = tmp_path / "requirements.lock"
    lock.write_text("mkdocs==1.6.1\n", encoding="utf-8")
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n', encoding="utf-8")
    monkeypatch.setattr(module, "VENV_DIR", tmp_path / ".venv")
    monkeypatch.setattr(module, "LOCK_FILE", lock)
    monkeypatch.setattr(module, "PYPROJECT_FILE", pyproject)
    return module


def fake_venv(dev) -> Path:
    python = dev.venv_python(dev.VENV_DIR)
    python.parent.mkdir(parents=True)
    python.write_text("", encoding="utf-8")
    return python


def test_help_runs_with_the_standard_library_only():
    # -S: no site-packages at all, -I: no PYTHONPATH/user site; the script must still work.
    completed = subprocess.run(
        [sys.executable, "-S", "-I", str(DEV_SCRIPT), "--help"], capture_output=True, text=True, cwd="/"
    )
    assert completed.returncode == 0, completed.stderr
    for command in ("serve", "test", "build", "lock"):
        assert command in completed.stdout
    assert "催收知识库" in completed.stdout


def test_every_import_is_from_the_standard_library():
    tree = ast.parse(DEV_SCRIPT.read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"__future__"}
    assert not third_party, f"tools/dev.py 只能使用标准库，却导入了 {third_party}"


def test_stamp_matches_only_the_same_inputs(dev):
    fingerprint = dev.install_fingerprint()
    assert not dev.stamp_is_current(dev.VENV_DIR, fingerprint)  # no venv yet
    fake_venv(dev)
    assert not dev.stamp_is_current(dev.VENV_DIR, fingerprint)  # venv but never installed
    dev.write_stamp(dev.VENV_DIR, fingerprint)
    assert dev.stamp_is_current(dev.VENV_DIR, fingerprint)
    dev.LOCK_FILE.write_text("mkdocs==1.6.1\njieba==0.42.1\n", encoding="utf-8")
    assert dev.install_fingerprint() != fingerprint
    assert not dev.stamp_is_current(dev.VENV_DIR, dev.install_fingerprint())
    dev.PYPROJECT_FILE.write_text('[project]\nname = "y"\n', encoding="utf-8")
    assert dev.install_fingerprint() != fingerprint


def test_install_is_skipped_when_the_stamp_matches(dev, monkeypatch, capsys):
    fake_venv(dev)
    dev.write_stamp(dev.VENV_DIR, dev.install_fingerprint())

    def no_commands(command, **kwargs):
        raise AssertionError(f"should not run anything, ran {command}")

    monkeypatch.setattr(dev, "run", no_commands)
    dev.ensure_python_packages()
    assert "跳过安装" in capsys.readouterr().out


def test_install_runs_when_the_lock_changed(dev, monkeypatch):
    fake_venv(dev)
    dev.write_stamp(dev.VENV_DIR, "stale")
    ran = []
    monkeypatch.setattr(dev, "run", lambda command, **kwargs: ran.append([str(c) for c in command]) or 0)
    dev.ensure_python_packages()
    assert any("-r" in command and str(dev.LOCK_FILE) in command for command in ran)
    assert any("--no-deps" in command and "-e" in command for command in ran)
    assert dev.stamp_is_current(dev.VENV_DIR, dev.install_fingerprint())


def test_failed_install_leaves_no_stamp(dev, monkeypatch):
    fake_venv(dev)
    monkeypatch.setattr(dev, "run", lambda command, **kwargs: 1)
    with pytest.raises(dev.SetupError, match="requirements.lock"):
        dev.ensure_python_packages()
    assert not (dev.VENV_DIR / dev.STAMP_NAME).exists()


def test_no_tests_collected_is_a_failure(dev, monkeypatch, capsys):
    monkeypatch.setattr(dev, "run", lambda command, **kwargs: dev.PYTEST_NO_TESTS)
    assert dev.run_pytest(Path(sys.executable), ["-k", "nothing-matches"]) == 5
    assert "没有收集到任何测试" in capsys.readouterr().out


def test_missing_browser_without_root_names_the_exact_command(dev, monkeypatch, tmp_path):
    monkeypatch.setattr(dev, "CHROMIUM_PATH", tmp_path / "no-chromium")
    monkeypatch.setattr(dev, "is_root", lambda: False)
    with pytest.raises(dev.SetupError) as error:
        dev.ensure_browser()
    assert "apt-get install -y chromium fonts-noto-cjk" in str(error.value)


def test_old_python_is_refused_with_a_message(dev):
    with pytest.raises(dev.SetupError, match="3.11"):
        dev.check_python_version((3, 9))
    dev.check_python_version((3, 11))


def lock_pins() -> dict[str, str]:
    pins = {}
    for line in LOCK_FILE.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, separator, version = line.partition("==")
        assert separator and version, f"requirements.lock 中的行没有锁定确切版本：{line}"
        pins[canonicalize_name(name)] = version
    return pins


def test_lock_pins_every_direct_dependency_within_its_range():
    pins = lock_pins()
    wanted = [
        *PYPROJECT["project"]["dependencies"],
        *PYPROJECT["project"]["optional-dependencies"]["test"],
        *PYPROJECT["build-system"]["requires"],
    ]
    problems = []
    for text in wanted:
        requirement = Requirement(text)
        version = pins.get(canonicalize_name(requirement.name))
        if version is None:
            problems.append(f"{requirement.name} 没有锁定")
        elif not requirement.specifier.contains(version, prereleases=True):
            problems.append(f"{requirement.name}=={version} 不满足 pyproject.toml 的 {requirement.specifier}")
    assert not problems, "requirements.lock 与 pyproject.toml 不一致，请运行 python3 tools/dev.py lock：\n" + "\n".join(problems)


def test_lock_contains_transitive_dependencies():
    pins = lock_pins()
    # Pulled in by mkdocs / material / playwright, never named in pyproject.toml.
    for transitive in ("markdown", "jinja2", "pygments", "greenlet", "babel"):
        assert transitive in pins, f"requirements.lock 缺少间接依赖 {transitive}"


def test_test_command_runs_pytest_even_when_redlines_fail(dev, monkeypatch, tmp_path, capsys):
    """One run reports every problem, and any failure makes the command fail."""
    script = tmp_path / "redlines.py"
    script.write_text("", encoding="utf-8")
    monkeypatch.setattr(dev, "REDLINES_SCRIPT", script)
    monkeypatch.setattr(dev, "ensure_python_packages", lambda: None)
    monkeypatch.setattr(dev, "ensure_browser", lambda: None)
    ran = []

    def fake_run(command, **kwargs):
        ran.append([str(part) for part in command])
        return 1 if str(script) in ran[-1] else 0

    monkeypatch.setattr(dev, "run", fake_run)
    assert dev.cmd_test(["-q"]) == 1
    assert any("pytest" in command and "-q" in command for command in ran)
    assert "红线检查" in capsys.readouterr().out

    monkeypatch.setattr(dev, "run", lambda command, **kwargs: 0)
    assert dev.cmd_test([]) == 0
