"""Glossary tooltips that also work for Chinese terms.

Python-Markdown's `abbr` wraps terms only between `\\b` word boundaries. In Chinese
text every Han character is a word character, so `\\b` never falls between two of
them and a term such as 协催 inside "边打协催边教" is never marked. This extension
keeps `abbr`'s definitions and tree walk but matches with boundaries that only
refuse to split an ASCII word (so "M1" does not match inside "M12" or "M1A").

Use it in place of `abbr` (it registers the definition syntax too).

`Glossary` marks terms the same way in HTML that the build writes itself (the generated
index tables, which skip the Markdown pass), so those tables keep their tooltips.
"""

from __future__ import annotations

import re
from functools import lru_cache

from markdown import Markdown, serializers
from markdown.extensions.abbr import AbbrBlockprocessor, AbbrExtension, AbbrTreeprocessor

# A term may not start or end in the middle of a Latin word or number.
_ASCII_WORD = r"A-Za-z0-9_"


@lru_cache(maxsize=16)
def term_pattern(terms: frozenset[str]) -> re.Pattern:
    """One regex for all terms, longest first, bounded only against ASCII words."""
    alternatives = "|".join(re.escape(term) for term in sorted(terms, key=len, reverse=True))
    return re.compile(f"(?<![{_ASCII_WORD}])(?:{alternatives})(?![{_ASCII_WORD}])")


class CjkAbbrTreeprocessor(AbbrTreeprocessor):
    def run(self, root):  # noqa: D102 - same contract as the parent
        if not self.abbrs:
            return None
        self.RE = term_pattern(frozenset(self.abbrs))
        self.iter_element(root)
        return None


class CjkAbbrExtension(AbbrExtension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 - Markdown API name
        super().extendMarkdown(md)
        md.treeprocessors.register(CjkAbbrTreeprocessor(md, self.abbrs), "abbr", 7)


def makeExtension(**kwargs) -> CjkAbbrExtension:  # noqa: N802 - Markdown API name
    return CjkAbbrExtension(**kwargs)


# Python-Markdown's own serializer escapes (an entity such as &amp; is kept, a bare & escaped),
# so that the HTML written here is what the Markdown pass would have written.
_escape_text = serializers._escape_cdata
_escape_attribute = serializers._escape_attrib_html


class Glossary:
    """Abbreviation definitions (`*[term]: title`) read as `abbr` reads them, and the HTML
    of a plain text with each term wrapped in `<abbr title="…">` as this extension wraps it."""

    def __init__(self, *texts: str) -> None:
        self.titles: dict[str, str] = {}
        for text in texts:  # later definitions win, as later ones on a page do
            for match in AbbrBlockprocessor.RE.finditer(text):
                term, title = match.group("abbr").strip(), match.group("title").strip()
                if not (term and title):
                    continue
                if title in ("''", '""'):  # `abbr`'s way of removing a definition
                    self.titles.pop(term, None)
                else:
                    self.titles[term] = title
        self._pattern = term_pattern(frozenset(self.titles)) if self.titles else None

    def html(self, text: str) -> str:
        """`text` escaped for HTML, its terms marked."""
        if self._pattern is None:
            return _escape_text(text)
        out, last = [], 0
        for match in self._pattern.finditer(text):
            term = match.group(0)
            out.append(_escape_text(text[last:match.start()]))
            out.append(f'<abbr title="{_escape_attribute(self.titles[term])}">{_escape_text(term)}</abbr>')
            last = match.end()
        out.append(_escape_text(text[last:]))
        return "".join(out)
