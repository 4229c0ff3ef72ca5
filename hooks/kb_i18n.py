"""MkDocs hook: the generated Traditional edition (zh-Hant) and the per-edition Chinese search.

Thin wrapper: the conversion lives in kb.hant, the index work in kb.search_index, the
preview's choice of editions in kb.editions.
mkdocs-static-i18n runs every event once per language (zh first, then zh-Hant).
"""

from __future__ import annotations

from mkdocs.plugins import CombinedEvent, event_priority, get_plugin_logger

from kb import editions, hant, search_index

log = get_plugin_logger(__name__)

_state = search_index.BuildState()
_reuse = hant.RenderReuse()
_sections = search_index.SectionReuse()


def _language(config) -> str:
    plugin = config.plugins.get("i18n")
    return getattr(plugin, "current_language", None) or config.theme.get("language") or search_index.SOURCE_LANGUAGE


def on_startup(command, dirty):
    editions.remember_command(command)


@event_priority(50)  # before mkdocs-static-i18n's on_config (-100) sets up the language switcher
def on_config(config):
    # Before Material's search on_config (0), which would initialise jieba on every build.
    search_index.take_over_dictionaries(config.plugins.get("material/search") or config.plugins.get("search"))
    editions.announce_once(editions.limit_preview_editions(config.plugins.get("i18n")), log)
    _state.start_language(_language(config))
    _reuse.start_pass(_state.is_hant)
    _sections.start_pass(_state.is_hant)


def on_files(files, config):
    # The first pass of a one-off build (not serve: no fork beside its live-reload threads).
    if not _state.is_hant and editions.current_command() != "serve" and search_index.SEGMENTER.would_prefetch():
        search_index.SEGMENTER.prefetch(search_index.site_sources(config))
    return files


def on_pre_build(config):
    search = config.plugins.get("material/search") or config.plugins.get("search")
    # Segment Traditional text exactly like its Simplified source (see kb.search_index).
    search_index.install_segmenter(search, _state)
    # A generated Traditional page is indexed from its Simplified page's sections, converted.
    search_index.install_section_reuse(search, _state, _sections)


@event_priority(-150)  # after mkdocs-static-i18n has built this language's nav
def on_nav(nav, config, files):
    if _state.is_hant:
        hant.convert_nav(nav)
    return nav


@event_priority(-1000)  # after every other handler: the Markdown the renderer would get
def on_page_markdown(markdown, page, config, files):
    return _reuse.skip_render(markdown, page) if _state.is_hant else markdown


@event_priority(1000)  # before every other handler: the HTML exactly as rendered
def _keep_or_restore_render(html, page, config, files):
    if not _state.is_hant:
        _reuse.remember(page, html)
        return html
    return _reuse.restore(page, html)


def _convert_page(html, page, config, files):
    _state.remember_page(page)
    if _state.is_hant:
        if hant.is_handwritten(page):
            return hant.fence_body(html)
        converted = hant.convert_page(html, page)
        _sections.note_conversion(page, html, converted)
        return converted
    return html


on_page_content = CombinedEvent(_keep_or_restore_render, _convert_page)


@event_priority(-50)
def on_post_page(output, page, config):
    if _state.is_hant:
        output = hant.convert_chrome(output)
        output = hant.point_search_at_edition(output, _state.language)
    return hant.use_project_search_worker(output)


def on_post_template(output_content, template_name, config):
    return search_index.place_error_page(template_name, output_content, config.site_dir, _state)


@event_priority(50)  # before Material's search plugin (0) writes this pass's index
def _segment_deferred(config):
    search_index.segment_deferred()


# After mkdocs-static-i18n (priority -100), which builds zh-Hant and then writes ONE index
# for all languages: split it per edition, add keywords, and shrink it.
@event_priority(-200)
def _finish_index(config):
    if editions.in_nested_edition_build(config):
        return  # the outer build finishes the index
    report = search_index.finalize(config.site_dir, _state)
    search_index.SEGMENTER.save()
    for line in report:
        log.info(line)


on_post_build = CombinedEvent(_segment_deferred, _finish_index)
