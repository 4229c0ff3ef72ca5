"""Normalisation before matching, with a map back to positions in the original text.

Steps (all configured in the rules file under `normalization`):
  * remove inline pinyin annotations (執(zhí)行 → 執行), zero-width characters and
    blanks between two Chinese characters (坐 牢 → 坐牢);
  * fold full-width ASCII to half-width;
  * OpenCC Traditional → Simplified, then a small extra character map (妳 → 你).

Only removals change offsets; they are kept as a sorted list of segments, so mapping
a normalised index back costs one bisect and memory stays proportional to the number
of removals, not to the length of the text.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

_ZERO_WIDTH = r"[\u200b-\u200d\u2060\ufeff]"
_CJK_GAP = r"(?<=[\u3400-\u9fff])[ \t\u3000]+(?=[\u3400-\u9fff])"
# Full-width ASCII (！ excluded: kept as a sentence delimiter either way) → half-width.
_WIDTH_FOLD = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_WIDTH_FOLD[0x3000] = 0x20


@lru_cache(maxsize=4)
def _converter(config: str) -> "opencc.OpenCC":  # noqa: F821
    import opencc  # imported on first non-ASCII text only: --list-rules/--explain start faster

    return opencc.OpenCC(config)


@dataclass(frozen=True)
class Normalizer:
    removal: re.Pattern
    opencc_config: str
    char_table: dict

    @classmethod
    def from_config(cls, cfg: dict) -> "Normalizer":
        parts = [_ZERO_WIDTH, _CJK_GAP]
        if cfg.get("pinyin_annotation"):
            parts.insert(0, cfg["pinyin_annotation"])
        table = dict(_WIDTH_FOLD)
        for src, dst in (cfg.get("char_map") or {}).items():
            table[ord(src)] = dst
        return cls(re.compile("|".join(f"(?:{p})" for p in parts)), cfg.get("opencc", "t2s"), table)

    def __call__(self, text: str) -> "NormText":
        seg_norm: list[int] = [0]
        seg_orig: list[int] = [0]
        pieces: list[str] = []
        last = 0
        norm_len = 0
        for m in self.removal.finditer(text):
            if m.start() == m.end():
                continue
            pieces.append(text[last:m.start()])
            norm_len += m.start() - last
            last = m.end()
            seg_norm.append(norm_len)
            seg_orig.append(last)
        pieces.append(text[last:])
        kept = "".join(pieces)
        converted = self._convert(kept).translate(self.char_table)
        return NormText(converted, seg_norm, seg_orig)

    def _convert(self, text: str) -> str:
        if not self.opencc_config or text.isascii():
            return text
        conv = _converter(self.opencc_config)
        out = conv.convert(text)
        if len(out) == len(text):
            return out
        # Rare phrase conversions change length; redo line by line, char by char where needed.
        lines = []
        for line in text.split("\n"):
            new = conv.convert(line)
            if len(new) != len(line):
                new = "".join(c if len(x := conv.convert(c)) != 1 else x for c in line)
            lines.append(new)
        return "\n".join(lines)


@dataclass(frozen=True)
class NormText:
    text: str
    seg_norm: list
    seg_orig: list

    def to_orig(self, index: int) -> int:
        k = bisect_right(self.seg_norm, index) - 1
        return self.seg_orig[k] + (index - self.seg_norm[k])

    def span_to_orig(self, start: int, end: int) -> tuple[int, int]:
        if end <= start:
            o = self.to_orig(start)
            return o, o
        return self.to_orig(start), self.to_orig(end - 1) + 1
