"""MkDocs hooks of 催收知识库: thin wrappers; the logic lives in kb.mkdocs_build and the kb checks."""

from mkdocs.plugins import event_priority

from kb.mkdocs_build import STATE


def on_startup(command, dirty):
    STATE.on_startup(command)


def on_files(files, config):
    STATE.on_files(files, config)
    return files


def on_env(env, config, files):
    STATE.on_env(env)
    return env


def on_page_read_source(page, config):
    return STATE.on_page_read_source(page)


@event_priority(60)  # before mkdocs-static-i18n (50) and any Traditional-conversion hook
def on_page_markdown(markdown, page, config, files):
    return STATE.on_page_markdown(markdown, page)


def on_page_content(html, page, config, files):
    return STATE.on_page_content(html, page, files)


@event_priority(-300)  # after mkdocs-static-i18n has built the other languages (-100)
def on_post_build(config):
    STATE.on_post_build(config)


def on_build_error(error):
    STATE.on_build_error()
