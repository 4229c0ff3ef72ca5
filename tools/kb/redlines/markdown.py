"""Markdown awareness: what is prose, counter-example blocks, suppressions, call scripts.

The page is turned into a *masked* copy of the same length in which everything that
is not prose (front matter, code, URLs, link targets, HTML, Markdown syntax) is
replaced by spaces, so offsets in the masked copy are offsets in the original page.
Call-script fences keep only their text values (title, notes, each turn's text).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .engine import Finding, Hit, LineIndex, hits_to_findings, scanner_for
from .rules import RULE_ID, RuleSet

_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^\n`]*)$")
_ADMONITION = re.compile(
    r"^(?P<indent>[ \t]*)(?P<marker>!!!|\?\?\?\+?)[ \t]+(?P<type>[\w-]+)(?P<classes>(?:[ \t]+[\w-]+)*)"
    r"(?:[ \t]+(?P<q>[\"'])(?P<title>.*?)(?P=q))?[ \t]*$"
)
_ADMONITION_MARKER = re.compile(r"^([ \t]*(?:!!!|\?\?\?\+?)[ \t]+[\w-]+(?:[ \t]+[\w-]+)*)")
_TAB_MARKER = re.compile(r"^([ \t]*===\+?[ \t]+)")
_SUPPRESS = re.compile(r"<!--\s*redline-disable(?P<line>-line)?\b(?P<body>.*?)-->", re.S)
_INLINE_MASK = re.compile(
    r"(?P<code>(`+)(?:(?!\2).)+?\2)"
    r"|(?P<comment><!--.*?-->)"
    r"|(?P<autolink><(?:https?|mailto|ftp):[^>\s]*>)"
    r"|(?P<html></?[A-Za-z][^<>\n]*>)"
    r"|(?P<target>\]\((?:[^()\s]|\([^()\s]*\))*(?:\s+\"[^\"]*\")?\))"
    r"|(?P<refdef>^[ \t]*\[[^\]\n]+\]:[ \t]*\S+)"
    r"|(?P<url>(?:https?|ftp)://[^\s<>()（），。]+|www\.[^\s<>()（），。]+)"
    r"|(?P<attr>\{[ \t]*[#.:][^}\n]*\})",
    re.M,
)
_CALL_KEY = re.compile(r"^(?P<indent>[ \t]*)(?P<key>[A-Za-z_][\w-]*)[ \t]*:(?:[ \t]+(?P<value>.*?))?[ \t]*$")
_CALL_TURN = re.compile(r"^(?P<indent>[ \t]*)-[ \t]+(?P<speaker>[^:：\s{}\[\]]+)[ \t]*[:：](?:[ \t]+(?P<value>.*?))?[ \t]*$")
_CALL_ITEM = re.compile(r"^(?P<indent>[ \t]*)-[ \t]+")
_INLINE_CODE = re.compile(r"(`+)(?:(?!\1).)+?\1")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]")
_IDS = re.compile(r"R\d{2}")


@dataclass
class _Suppression:
    line: int  # line it applies to
    comment_line: int
    column: int
    rules: tuple
    used: set


def _blank(s: str) -> str:
    return " " * len(s)


def _mask_inline(line: str) -> str:
    return _INLINE_MASK.sub(lambda m: _blank(m.group(0)), line)


def _indent_width(s: str) -> int:
    return len(s.expandtabs(4)) - len(s.expandtabs(4).lstrip(" "))


class _Page:
    def __init__(self, text: str, ruleset: RuleSet):
        self.text = text
        self.rs = ruleset
        self.lines = text.split("\n")
        self.offsets = []
        pos = 0
        for line in self.lines:
            self.offsets.append(pos)
            pos += len(line) + 1
        self.masked = list(self.lines)
        self.exempt: list[tuple[int, int]] = []
        self.structure: list[Hit] = []
        self.code_lines: set[int] = set()

    def struct(self, sid: str, line_no: int, col: int, match: str, extra: str = "") -> None:
        spec = self.rs.structure.get(sid, {"severity": "error", "message": sid})
        start = self.offsets[line_no] + col
        self.structure.append(Hit(start, start + len(match), sid, spec["severity"],
                                  spec["message"] + extra, spec.get("suggestion", "")))

    # -- passes ------------------------------------------------------------------------
    def run(self) -> None:
        lines = self.lines
        i = 0
        if lines and lines[0].strip() == "---":
            for j in range(1, len(lines)):
                if lines[j].strip() in ("---", "..."):
                    for k in range(0, j + 1):
                        self.masked[k] = _blank(lines[k])
                    i = j + 1
                    break
        admonitions: list[tuple[int, re.Match]] = []
        while i < len(lines):
            line = lines[i]
            fm = _FENCE_OPEN.match(line)
            if fm:
                i = self._fence(i, fm)
                continue
            am = _ADMONITION.match(line)
            if am:
                admonitions.append((i, am))
            i += 1
        for i, line in enumerate(lines):
            if self.masked[i] is line:  # untouched prose line
                masked = _mask_inline(line)
                masked = _ADMONITION_MARKER.sub(lambda m: _blank(m.group(1)), masked)
                masked = _TAB_MARKER.sub(lambda m: _blank(m.group(1)), masked)
                self.masked[i] = masked
        # Headings name topics ("爆通讯录的危害"); they are exempt from phrase rules.
        for i, line in enumerate(lines):
            if i not in self.code_lines and _HEADING.match(line):
                self.exempt.append((self.offsets[i], self.offsets[i] + len(line)))
        for idx, am in admonitions:
            self._admonition(idx, am)

    def _block_end(self, start: int, indent: int) -> int:
        """Index after the last body line of a block opened at `start` with `indent`."""
        j = start + 1
        last = start
        while j < len(self.lines):
            line = self.lines[j]
            if line.strip():
                if _indent_width(line) <= indent:
                    break
                last = j
            j += 1
        return last + 1

    def _admonition(self, idx: int, am: re.Match) -> None:
        if am.group("type") != "redline":
            return
        indent = _indent_width(am.group("indent"))
        end = self._block_end(idx, indent)
        self.exempt.append((self.offsets[idx], self.offsets[end - 1] + len(self.lines[end - 1])))
        title = am.group("title") or ""
        ids = _IDS.findall(title)
        col = am.start("title") if am.group("title") is not None else am.start("type")
        shown = title or am.group("type")
        if not ids:
            self.struct("MD01", idx, col, shown)
        for rid in ids:
            if rid not in self.rs.by_id:
                self.struct("MD02", idx, col + title.index(rid), rid, f"：{rid}")
        # The next non-blank line must open a `compliant` admonition at the same indent.
        j = end
        while j < len(self.lines) and not self.lines[j].strip():
            j += 1
        nxt = _ADMONITION.match(self.lines[j]) if j < len(self.lines) else None
        if not (nxt and nxt.group("type") == "compliant" and _indent_width(nxt.group("indent")) == indent):
            self.struct("MD03", idx, am.start("marker"), am.group(0).strip())

    def _fence(self, i: int, fm: re.Match) -> int:
        lines = self.lines
        fence = fm.group("fence")
        info = fm.group("info").strip()
        lang = info.split()[0].lstrip(".{") if info else ""
        j = i + 1
        close = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        end = min(j, len(lines) - 1)
        for k in range(i, end + 1):
            self.masked[k] = _blank(lines[k])
            self.code_lines.add(k)
        if lang == "call-script":
            self._call_script(i + 1, j)
        return end + 1

    def _keep(self, k: int, start: int, end: int, pii_only: bool) -> None:
        value = self.lines[k][start:end]
        # Strip YAML quotes around a scalar.
        if len(value) >= 2 and value[0] in "\"'" and value[-1] == value[0]:
            start, end = start + 1, end - 1
        if start >= end:
            return
        row = self.masked[k]
        self.masked[k] = row[:start] + self.lines[k][start:end] + row[end:]
        if pii_only:
            off = self.offsets[k]
            self.exempt.append((off + start, off + end))

    def _call_script(self, first: int, stop: int) -> None:
        cs = self.rs.call_script
        keys = set(cs.get("checked_keys", ["title", "notes"]))
        speakers = set(cs.get("phrase_rule_speakers", ["催收员"]))
        state = None  # ("block", indent, pii_only) or ("cont", indent, pii_only)
        for k in range(first, min(stop, len(self.lines))):
            line = self.lines[k]
            if not line.strip():
                continue
            ind = _indent_width(line)
            if state is not None and ind > state[1] and not _CALL_TURN.match(line):
                # Block-scalar or plain-scalar continuation line of the value being read.
                lead = len(line) - len(line.lstrip())
                self._keep(k, lead, len(line.rstrip()), state[2])
                continue
            state = None
            tm = _CALL_TURN.match(line)
            if tm:
                value = tm.group("value")
                pii_only = tm.group("speaker") not in speakers
                if value:
                    if value in ("|", ">", "|-", ">-", "|+", ">+"):
                        state = ("block", ind, pii_only)
                    else:
                        self._keep(k, tm.start("value"), tm.end("value"), pii_only)
                        state = ("cont", ind, pii_only)
                continue
            km = _CALL_KEY.match(line)
            if km and km.group("key") in keys:
                value = km.group("value")
                if not value:
                    continue
                if value in ("|", ">", "|-", ">-", "|+", ">+"):
                    state = ("block", ind, False)
                else:
                    self._keep(k, km.start("value"), km.end("value"), False)
                    state = ("cont", ind, False)

    # -- suppressions -------------------------------------------------------------------
    def suppressions(self) -> list[_Suppression]:
        out = []
        known = set(self.rs.by_id) | set(self.rs.structure)
        for m in _SUPPRESS.finditer(self.text):
            line_no = self.text.count("\n", 0, m.start())
            col = m.start() - self.offsets[line_no]
            if self._in_code(line_no, col):
                continue
            body = m.group("body").strip()
            parts = re.split(r"[:：]", body, maxsplit=1)
            ids_part, reason = parts[0], (parts[1] if len(parts) > 1 else "")
            ids = tuple(re.findall(r"[A-Z]+\d{2}", ids_part))
            if not reason.strip():
                self.struct("MD04", line_no, col, m.group(0))
            bad = [r for r in ids if r not in known]
            for rid in bad:
                self.struct("MD05", line_no, col, m.group(0), f"：{rid}")
            if not ids:
                self.struct("MD05", line_no, col, m.group(0), "：未写规则编号")
            if not reason.strip() or bad or not ids:
                continue
            target = line_no
            if not m.group("line"):
                target = line_no + 1
                while target < len(self.lines) and not self.lines[target].strip():
                    target += 1
            out.append(_Suppression(target + 1, line_no, col, ids, set()))
        return out

    def _in_code(self, line_no: int, col: int) -> bool:
        if line_no in self.code_lines:
            return True
        return any(m.start() < col < m.end() for m in _INLINE_CODE.finditer(self.lines[line_no]))


def check_markdown_with(text: str, path: str, ruleset: RuleSet) -> list[Finding]:
    page = _Page(text, ruleset)
    page.run()
    sups = page.suppressions()
    masked = "\n".join(page.masked)
    hits = scanner_for(ruleset).scan(masked, page.exempt)
    hits = [Hit(h.start, h.end, h.rule, h.severity, h.message, h.suggestion, h.detector) for h in hits]
    index = LineIndex(text)
    findings = hits_to_findings(hits, text, path, index)
    by_line: dict[int, list[_Suppression]] = {}
    for s in sups:
        by_line.setdefault(s.line, []).append(s)
    kept = []
    for f in findings:
        matched = [s for s in by_line.get(f.line, []) if f.rule in s.rules]
        if matched:
            for s in matched:
                s.used.add(f.rule)
            continue
        kept.append(f)
    structural = hits_to_findings(page.structure, text, path, index)
    for s in sups:
        for rid in s.rules:
            if rid not in s.used:
                spec = ruleset.structure.get("MD06", {"severity": "warning", "message": "MD06"})
                start = page.offsets[s.comment_line] + s.column
                structural.append(Finding(path, s.comment_line + 1, s.column + 1, "MD06", spec["severity"],
                                          f"{spec['message']}：{rid}", text[start:text.find("-->", start) + 3],
                                          spec.get("suggestion", "")))
    out = kept + structural
    out.sort(key=lambda f: (f.line, f.column, f.rule))
    return out
