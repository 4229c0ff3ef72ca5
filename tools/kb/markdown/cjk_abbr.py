"""Glossary tooltips that also work for Chinese terms.

Python-Markdown's `abbr` wraps terms only between `\\b` word boundaries. In Chinese
text every Han character is a word character, so `\\b` never falls between two of
them and a term such as 协催 inside "边打协催边教" is never marked. This extension
keeps `abbr`'s definitions and tree walk but matches with boundaries that only
refuse to split an ASCII word (so "M1" does not match inside "M12" or "M1A").

Use it in place of `abbr` (it registers the definition syntax too).
"""

from __future__ import annotations

import re

from markdown import Markdown
from markdown.extensions.abbr import AbbrExtension, AbbrTreeprocessor

# A term may not start or end in the middle of a Latin word or number.
_ASCII_WORD = r"A-Za-z0-9_"


class CjkAbbrTreeprocessor(AbbrTreeprocessor):
    def run(self, root):  # noqa: D102 - same contract as the parent
        if not self.abbrs:
            return None
        terms = sorted(self.abbrs, key=len, reverse=True)
        alternatives = "|".join(re.escape(term) for term in terms)
        self.RE = re.compile(f"(?<![{_ASCII_WORD}])(?:{alternatives})(?![{_ASCII_WORD}])")
        self.iter_element(root)
        return None


class CjkAbbrExtension(AbbrExtension):
    def extendMarkdown(self, md: Markdown) -> None:  # noqa: N802 - Markdown API name
        super().extendMarkdown(md)
        md.treeprocessors.register(CjkAbbrTreeprocessor(md, self.abbrs), "abbr", 7)


def makeExtension(**kwargs) -> CjkAbbrExtension:  # noqa: N802 - Markdown API name
    return CjkAbbrExtension(**kwargs)
