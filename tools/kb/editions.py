"""Which language editions a build makes: every edition, except in a `mkdocs serve` preview.

Trainers write and preview the Simplified pages; the Traditional edition is generated from
them. Building it on every preview rebuild doubles the wait after each save, so the preview
builds the default (Simplified) edition only, unless asked for all editions. `mkdocs build`,
the tests and CI always build every edition.
"""

from __future__ import annotations

import os

ALL_EDITIONS_ENV = "KB_PREVIEW_ALL_EDITIONS"
ALL_EDITIONS_HINT = f"python3 tools/dev.py serve --all-editions（或设置环境变量 {ALL_EDITIONS_ENV}=1）"

# `mkdocs serve` calls on_startup once, then reloads the configuration (and the hook modules)
# for every rebuild; the command is kept here, in an ordinary module that stays imported.
_command = "build"
_announced = False


def remember_command(command: str) -> None:
    global _command
    _command = command


def current_command() -> str:
    """The mkdocs command being run ("build", "serve", "gh-deploy"; "build" until on_startup says)."""
    return _command


def wants_all_editions(environ=os.environ) -> bool:
    return _command != "serve" or environ.get(ALL_EDITIONS_ENV, "").strip() not in ("", "0")


def limit_preview_editions(i18n_plugin, environ=os.environ) -> list[str]:
    """Switch off every non-default edition of mkdocs-static-i18n for a preview; returns the
    locales switched off. Called before the plugin's on_config, so the language switcher
    (which would point at an edition that is not built) is left out as well."""
    if i18n_plugin is None or wants_all_editions(environ):
        return []
    skipped = []
    for language in i18n_plugin.config.languages:
        if language.build and not language.default:
            language.build = False
            skipped.append(language.locale)
    return skipped


def in_nested_edition_build(config) -> bool:
    """Whether mkdocs-static-i18n is building another edition inside the default one's build
    (it does so from its on_post_build): work done once per build is already done."""
    return bool(getattr(config.plugins.get("i18n"), "building", False))


def announce_once(skipped: list[str], log) -> None:
    global _announced
    if skipped and not _announced:
        _announced = True
        log.info(f"预览只生成简体版（保存后重建更快）；繁体版（{'、'.join(skipped)}）在正式构建时自动生成。"
                 f"需要同时预览繁体版时运行：{ALL_EDITIONS_HINT}")
