"""MkDocs hook: the "最后更新" date under every page. Thin wrapper; the logic lives in kb.revision_dates."""

from __future__ import annotations

from mkdocs.exceptions import PluginError

from kb.editions import in_nested_edition_build
from kb.revision_dates import RevisionDates, RevisionDatesError

_dates = RevisionDates()


def on_config(config):
    try:
        _dates.configure(config.extra)
    except RevisionDatesError as exc:
        raise PluginError(str(exc)) from exc


def on_files(files, config):
    if not in_nested_edition_build(config):  # the Traditional pass reuses the dates
        _dates.refresh(config.docs_dir)  # one `git log`, about 15 ms
    return files


def on_page_context(context, page, config, nav):
    # Material shows page.meta.revision_date as "最后更新" (partials/source-file.html).
    page.meta["revision_date"] = _dates.html_for(page.file.src_uri)
    return context
