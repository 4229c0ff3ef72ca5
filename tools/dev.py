#!/usr/bin/env python3
"""Bootstrap and day-to-day commands for 催收知识库 (standard library only).

This script runs before the virtual environment exists, so it must import nothing
outside the Python standard library. It sets up everything the site needs itself:

    python3 tools/dev.py serve   # install what is needed, serve with live reload on 127.0.0.1:8000
    python3 tools/dev.py test    # install what is needed, run the red-line checker and pytest
    python3 tools/dev.py build   # install what is needed, strict build into site/
    python3 tools/dev.py lock    # re-resolve requirements.lock in a clean virtual environment

Installs are idempotent: a stamp inside .venv records the hash of requirements.lock and
pyproject.toml, and the install step is skipped while they are unchanged.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_DIR = ROOT / ".venv"
LOCK_FILE = ROOT / "requirements.lock"
PYPROJECT_FILE = ROOT / "pyproject.toml"
STAMP_NAME = ".kb-install-stamp"
REDLINES_SCRIPT = ROOT / "tools" / "redlines.py"
SITE_DIR = ROOT / "site"

MIN_PYTHON = (3, 11)
SERVE_ADDRESS = "127.0.0.1:8000"
# `serve --all-editions` sets this for the hooks (kb.editions.ALL_EDITIONS_ENV; dev.py cannot import kb).
PREVIEW_ALL_EDITIONS_ENV = "KB_PREVIEW_ALL_EDITIONS"
# Bump when the install procedure itself changes, so existing stamps stop matching.
INSTALL_SCHEME = "1"
# Debian packages the browser tests need (real Chromium and fonts that can show Chinese).
SYSTEM_PACKAGES = ("chromium", "fonts-noto-cjk")
CHROMIUM_PATH = Path(os.environ.get("KB_CHROMIUM", "/usr/bin/chromium"))
CJK_FONT_GLOBS = ("/usr/share/fonts/**/NotoSansCJK*", "/usr/share/fonts/**/NotoSerifCJK*")
PYTEST_NO_TESTS = 5  # pytest's exit code when it collected nothing

LOCK_HEADER = """\
# requirements.lock: the exact version of every package the site and its tests install
# (runtime dependencies, the [test] extra and the build backend, transitive ones included),
# resolved in a clean virtual environment from the ranges in pyproject.toml.
#
# Used by `python3 tools/dev.py serve|test|build` and by CI:
#     pip install -r requirements.lock && pip install --no-deps --no-build-isolation -e .
# Do not edit by hand. To refresh (after changing pyproject.toml, or to take upstream fixes):
#     python3 tools/dev.py lock
# then run `python3 tools/dev.py test` and commit requirements.lock with the reason.
# Resolved with Python {python} on {platform}.
"""


class SetupError(Exception):
    """A set-up step failed; the message tells the user what to do (in Chinese)."""


# --------------------------------------------------------------------------- helpers


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def run(command: list[str], **kwargs) -> int:
    say("$ " + " ".join(str(part) for part in command))
    return subprocess.call([str(part) for part in command], **kwargs)


def check_python_version(version: tuple[int, ...] = tuple(sys.version_info[:2])) -> None:
    if tuple(version[:2]) < MIN_PYTHON:
        wanted = ".".join(map(str, MIN_PYTHON))
        raise SetupError(
            f"需要 Python {wanted} 或更高版本，当前是 {'.'.join(map(str, version[:2]))}。"
            f"请安装后用 python{wanted} tools/dev.py … 运行。"
        )


def venv_python(venv_dir: Path | None = None) -> Path:
    return (venv_dir or VENV_DIR) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def tool_env() -> dict[str, str]:
    """Environment for mkdocs/pytest runs: the venv first on PATH, no MkDocs 2.0 banner."""
    env = dict(os.environ)
    env["NO_MKDOCS_2_WARNING"] = "1"
    env["VIRTUAL_ENV"] = str(VENV_DIR)
    env["PATH"] = os.pathsep.join([str(venv_python().parent), env.get("PATH", "")])
    env.pop("PYTHONHOME", None)
    return env


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


# --------------------------------------------------------------------------- install stamp


def install_fingerprint(lock_file: Path | None = None, pyproject_file: Path | None = None) -> str:
    """Hash of everything that decides what gets installed into .venv."""
    digest = hashlib.sha256()
    digest.update(f"scheme={INSTALL_SCHEME}\n".encode())
    for path in (lock_file or LOCK_FILE, pyproject_file or PYPROJECT_FILE):
        digest.update(f"{path.name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def stamp_is_current(venv_dir: Path, fingerprint: str) -> bool:
    """True when .venv exists, has a Python, and was last installed from exactly these inputs."""
    stamp = venv_dir / STAMP_NAME
    if not venv_python(venv_dir).exists() or not stamp.is_file():
        return False
    return stamp.read_text(encoding="utf-8").strip() == fingerprint


def write_stamp(venv_dir: Path, fingerprint: str) -> None:
    (venv_dir / STAMP_NAME).write_text(fingerprint + "\n", encoding="utf-8")


# --------------------------------------------------------------------------- set-up steps


def create_venv(venv_dir: Path) -> None:
    """Create a virtual environment with pip; on Debian this needs python3-venv."""
    say(f"创建虚拟环境 {venv_dir} …")
    if run([sys.executable, "-m", "venv", venv_dir]) == 0 and venv_python(venv_dir).exists():
        return
    shutil.rmtree(venv_dir, ignore_errors=True)
    apt_command = "apt-get install -y python3-venv"
    if is_root() and shutil.which("apt-get"):
        say("系统缺少 venv/ensurepip，正在用 apt-get 安装 python3-venv …")
        if run(["apt-get", "update"]) == 0 and run(apt_command.split(), env=apt_env()) == 0:
            if run([sys.executable, "-m", "venv", venv_dir]) == 0:
                return
    raise SetupError(f"无法创建虚拟环境 {venv_dir}。请先运行：sudo {apt_command}，然后重试。")


def ensure_python_packages() -> None:
    """Create .venv if needed and install requirements.lock + the project, unless the stamp matches."""
    if not LOCK_FILE.is_file():
        raise SetupError(f"缺少 {LOCK_FILE.name}。请运行 python3 tools/dev.py lock 生成后再试。")
    fingerprint = install_fingerprint()
    if stamp_is_current(VENV_DIR, fingerprint):
        say("依赖未变化（requirements.lock 与 pyproject.toml 的哈希与 .venv 中的记录一致），跳过安装。")
        return
    if not venv_python().exists():
        create_venv(VENV_DIR)
    python = venv_python()
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    quiet = ["--progress-bar", "off"] if os.environ.get("CI") or not sys.stdout.isatty() else []
    say("安装锁定版本的依赖（requirements.lock）…")
    if run([*pip, "install", *quiet, "-r", LOCK_FILE], cwd=ROOT) != 0:
        raise SetupError("安装 requirements.lock 失败（见上方 pip 输出）。检查网络能否访问 PyPI 后重试。")
    say("以可编辑方式安装本项目（kb 包）…")
    if run([*pip, "install", *quiet, "--no-deps", "--no-build-isolation", "-e", ROOT], cwd=ROOT) != 0:
        raise SetupError("安装本项目失败（见上方 pip 输出）。")
    write_stamp(VENV_DIR, fingerprint)
    say("依赖安装完成。")


def apt_env() -> dict[str, str]:
    return dict(os.environ, DEBIAN_FRONTEND="noninteractive")


def missing_system_packages(chromium_path: Path | None = None) -> list[str]:
    """Debian packages the browser tests need that are not installed yet."""
    import glob

    missing = []
    if not (chromium_path or CHROMIUM_PATH).exists():
        missing.append("chromium")
    if not any(glob.glob(pattern, recursive=True) for pattern in CJK_FONT_GLOBS):
        missing.append("fonts-noto-cjk")
    return missing


def ensure_browser() -> None:
    missing = missing_system_packages()
    if not missing:
        return
    command = ["apt-get", "install", "-y", *SYSTEM_PACKAGES]
    if not (is_root() and shutil.which("apt-get")):
        raise SetupError(
            f"浏览器测试需要 Debian 软件包：{'、'.join(missing)}。请先运行：\n"
            f"    sudo apt-get update && sudo {' '.join(command)}\n然后重试。"
        )
    say(f"安装浏览器测试所需的系统软件包：{' '.join(SYSTEM_PACKAGES)} …")
    if run(["apt-get", "update"], env=apt_env()) != 0 or run(command, env=apt_env()) != 0:
        raise SetupError(f"apt-get 安装失败。请手动运行：apt-get update && {' '.join(command)}")
    still_missing = missing_system_packages()
    if still_missing:
        raise SetupError(f"安装后仍缺少：{'、'.join(still_missing)}（Chromium 路径 {CHROMIUM_PATH}）。")


# --------------------------------------------------------------------------- commands


def cmd_serve(extra: list[str]) -> int:
    ensure_python_packages()
    say(f"启动预览：http://{SERVE_ADDRESS}/ （修改 docs/ 后自动刷新，Ctrl+C 停止）")
    say("预览时检查问题只显示为 WARNING、不会中断预览；提交前请运行 python3 tools/dev.py test。")
    if os.environ.get(PREVIEW_ALL_EDITIONS_ENV, "").strip() in ("", "0"):  # as kb.editions reads it
        say("预览只生成简体版；同时预览繁体版：python3 tools/dev.py serve --all-editions")
    # Live reload is mkdocs' default. --no-strict: a page mid-edit must not kill the preview;
    # `test` and `build` stay strict.
    command = [venv_python(), "-m", "mkdocs", "serve", "--no-strict", "-a", SERVE_ADDRESS, *extra]
    try:
        return run(command, cwd=ROOT, env=tool_env())
    except KeyboardInterrupt:
        return 0


def cmd_build(extra: list[str]) -> int:
    ensure_python_packages()
    command = [venv_python(), "-m", "mkdocs", "build", "--strict", "--site-dir", SITE_DIR, *extra]
    code = run(command, cwd=ROOT, env=tool_env())
    if code == 0:
        say(f"站点已构建到 {SITE_DIR}")
    else:
        say("严格构建失败：请按上方 WARNING/ERROR 提示修改对应页面后重试。")
    return code


def run_pytest(python: Path, args: list[str]) -> int:
    """Run pytest; 'no tests collected' is a failure, never a silent success."""
    code = run([python, "-m", "pytest", *args], cwd=ROOT, env=tool_env())
    if code == PYTEST_NO_TESTS:
        say("错误：pytest 没有收集到任何测试（退出码 5）。检查测试路径或 -k/-m 过滤条件。")
    return code


def cmd_test(extra: list[str]) -> int:
    ensure_python_packages()
    ensure_browser()
    python = venv_python()
    failed = []
    if REDLINES_SCRIPT.is_file():
        say("检查合规红线（tools/redlines.py docs）…")
        if run([python, REDLINES_SCRIPT, "docs"], cwd=ROOT, env=tool_env()) != 0:
            failed.append("红线检查（按上方提示修改页面；python tools/redlines.py --explain 规则编号 查看说明）")
    # Run the tests even when the red-line check failed, so one run reports every problem.
    say("运行测试（pytest，包含严格构建与浏览器测试）…")
    code = run_pytest(python, extra)
    if code != 0:
        failed.append(f"pytest（退出码 {code}）")
    if failed:
        say("未通过：" + "；".join(failed))
        return 1
    say("全部检查通过。")
    return 0


def cmd_lock(extra: list[str]) -> int:
    """Resolve pyproject.toml (+ [test] + build backend) in a clean venv and freeze every version."""
    import platform
    import tomllib

    pyproject = tomllib.loads(PYPROJECT_FILE.read_text(encoding="utf-8"))
    build_requires = pyproject.get("build-system", {}).get("requires", [])
    with tempfile.TemporaryDirectory(prefix="kb-lock-") as tmp:
        venv_dir = Path(tmp) / "venv"
        if run([sys.executable, "-m", "venv", venv_dir]) != 0:
            raise SetupError("无法创建临时虚拟环境（Debian 上请先 apt-get install -y python3-venv）。")
        python = venv_python(venv_dir)
        pip = [python, "-m", "pip", "--disable-pip-version-check"]
        if run([*pip, "install", "--progress-bar", "off", *build_requires, "-e", f"{ROOT}[test]", *extra]) != 0:
            raise SetupError("在临时虚拟环境中解析依赖失败（见上方 pip 输出）。")
        frozen = subprocess.run(
            [*map(str, pip), "freeze", "--all", "--exclude-editable"], check=True, capture_output=True, text=True
        ).stdout
    own_name = pyproject["project"]["name"].lower()
    lines = sorted(
        (line for line in frozen.splitlines() if line and not line.lower().startswith(("pip==", own_name + "=="))),
        key=lambda line: line.split("==")[0].lower(),
    )
    header = LOCK_HEADER.format(python=platform.python_version(), platform=platform.system())
    LOCK_FILE.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
    say(f"已写入 {LOCK_FILE.name}（{len(lines)} 个软件包）。请运行 python3 tools/dev.py test 后提交。")
    return 0


COMMANDS = {
    "serve": (cmd_serve, f"安装所需依赖并在 http://{SERVE_ADDRESS}/ 启动实时预览（额外参数传给 mkdocs serve）"),
    "test": (cmd_test, "安装所需依赖，运行红线检查与全部测试（额外参数传给 pytest）"),
    "build": (cmd_build, "安装所需依赖，严格构建站点到 site/（额外参数传给 mkdocs build）"),
    "lock": (cmd_lock, "在干净的临时虚拟环境中重新解析并写入 requirements.lock"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 tools/dev.py",
        description="催收知识库开发命令（只依赖 Python 标准库，会自动创建 .venv 并安装锁定版本的依赖）。",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="命令")
    for name, (_, help_text) in COMMANDS.items():
        command = sub.add_parser(name, help=help_text, description=help_text)
        if name == "serve":
            command.add_argument(
                "--all-editions", action="store_true",
                help="同时预览繁体版（默认只预览简体版，保存后重建更快）",
            )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "all_editions", False):
        os.environ[PREVIEW_ALL_EDITIONS_ENV] = "1"
    try:
        check_python_version()
        handler = COMMANDS[args.command][0]
        return handler(extra)
    except SetupError as error:
        print(f"[dev] 错误：{error}", file=sys.stderr, flush=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
