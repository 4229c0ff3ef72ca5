"""MkDocs hook: the "最后更新" date under every page. Thin wrapper; the logic lives in kb.revision_dates."""

from __future__ import annotations

from mkdocs.exceptions import PluginError

from kb.revision_dates import RevisionDates, RevisionDatesError, zone_from_config

_dates = RevisionDates()


def on_config(config):
    try:
        zone_from_config(config.extra)
    except RevisionDatesError as exc:
        raise PluginError(str(exc)) from exc


def on_files(files, config):
    i18n = config.plugins.get("i18n")
    if not getattr(i18n, "building", False):  # not again for the Traditional pass of the same build
        _dates.refresh(config.docs_dir, config.extra)  # one `git log`, about 15 ms
    return files


def on_page_context(context, page, config, nav):
    # Material shows page.meta.revision_date as "最后更新" (partials/source-file.html).
    page.meta["revision_date"] = _dates.html_for(page.file.src_uri)
    return context
