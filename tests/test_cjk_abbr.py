"""Glossary tooltips must mark Chinese terms inside running Chinese text."""

import markdown
import pytest

GLOSSARY = "\n\n*[协催]: 协助催收\n*[M1]: 逾期 1–30 天\n*[M3+]: 逾期 90 天以上\n*[柱子]: 团队骨干\n"


def render(text: str) -> str:
    return markdown.markdown(text + GLOSSARY, extensions=["kb.markdown.cjk_abbr"])


def test_marks_chinese_term_between_chinese_characters():
    html = render("主管边打协催边教柱子。")
    assert '<abbr title="协助催收">协催</abbr>' in html
    assert '<abbr title="团队骨干">柱子</abbr>' in html


def test_plain_abbr_would_miss_it():
    # Guards the reason the extension exists: if upstream abbr ever learns CJK, drop ours.
    html = markdown.markdown("主管边打协催边教。" + GLOSSARY, extensions=["abbr"])
    assert "<abbr" not in html


@pytest.mark.parametrize("text", ["M12 账户", "XM1 型号", "M1A 批次"])
def test_does_not_split_ascii_words(text):
    assert "<abbr" not in render(text)


def test_longest_term_wins_and_symbols_end_terms():
    html = render("M3+ 案件和 M1 案件")
    assert '<abbr title="逾期 90 天以上">M3+</abbr>' in html
    assert '<abbr title="逾期 1–30 天">M1</abbr>' in html


def test_code_is_left_alone():
    assert "<abbr" not in render("`协催`")
