"""Broken links, missing anchors and pages left out of the nav fail `mkdocs build --strict`,
with a message that names the page, so an author knows where to fix it."""

from __future__ import annotations

import pytest

PAGE = """---
title: {title}
tags: [入门]
sources: [site]
---

# {title}

{body}
"""


@pytest.mark.slow
def test_broken_link_anchor_and_orphan_page_fail_the_strict_build(site_copy):
    site_copy.write(
        "docs/tags.md",
        PAGE.format(title="标签", body="参见[不存在的页面](cases/no-such-page.md)。\n\n<!-- material/tags -->"),
    )
    # Not in the nav, and links to a section that does not exist.
    site_copy.write(
        "docs/orphan-page.md",
        PAGE.format(title="没有列入导航的页面", body="参见[流程总览的不存在的小节](cases/workflow.md#no-such-anchor)。"),
    )

    result = site_copy.build()

    assert not result.ok, "断链、断锚点和未列入导航的页面应让严格构建失败"
    assert "Aborted with" in result.output
    link_lines = [line for line in result.output.splitlines() if "cases/no-such-page.md" in line]
    assert link_lines and any("tags.md" in line for line in link_lines), result.output[-3000:]
    anchor_lines = [line for line in result.output.splitlines() if "#no-such-anchor" in line]
    assert anchor_lines and any("orphan-page.md" in line and "cases/workflow.md" in line for line in anchor_lines), result.output[-3000:]
    assert "orphan-page.md" in result.output

