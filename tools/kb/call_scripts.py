"""Call scripts (话术): ```call-script fences whose body is YAML.

`find_fences` locates them in a page's Markdown (with file line numbers),
`check_script` validates one against vocabulary.yml `call_script`, and
`format_fence` is the pymdownx.superfences custom-fence formatter that renders a card.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Iterator

import yaml

# libyaml's parser when available (several times faster on large sites); same errors and marks.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

from kb.paths import load_vocabulary
from kb.problems import Problem, problem, suggest

FENCE_NAME = "call-script"
_FENCE_OPEN = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*\{?[ \t]*\.?(?P<lang>[\w+-]*)")

# Speaker -> CSS modifier; the order follows vocabulary.yml call_script.speakers.
SPEAKER_ROLES = ("collector", "customer", "third-party")
# Link targets inside the card are written as this scheme and rewritten per page by the hook.
PAGE_LINK_SCHEME = "kb-page:"


@dataclass
class Fence:
    """A fenced code block found in Markdown."""

    lang: str
    start_line: int  # 1-based file line of the opening fence
    body: str  # de-indented body
    indent: str


@dataclass
class CallScript:
    path: str
    line: int  # file line of the opening fence
    data: dict[str, Any] = field(default_factory=dict)
    error: Problem | None = None

    @property
    def id(self) -> str | None:
        value = self.data.get("id")
        return value if isinstance(value, str) else None


def iter_fences(markdown: str, first_line: int = 1) -> Iterator[Fence]:
    """Every top-level fenced block (nested fences inside another fence are content, as in superfences)."""
    lines = markdown.split("\n")
    index = 0
    while index < len(lines):
        match = _FENCE_OPEN.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence, lang = match.group("indent"), match.group("fence"), match.group("lang")
        closing = re.compile(r"^[ \t]*" + re.escape(fence[0]) + "{" + str(len(fence)) + r",}[ \t]*$")
        body: list[str] = []
        end = index + 1
        while end < len(lines) and not closing.match(lines[end]):
            line = lines[end]
            body.append(line[len(indent):] if line.startswith(indent) else line.lstrip())
            end += 1
        yield Fence(lang, first_line + index, "\n".join(body), indent)
        index = end + 1


def parse_script(fence: Fence, path: str) -> CallScript:
    """Parse one call-script fence body; YAML errors carry the file line."""
    script = CallScript(path, fence.start_line)
    try:
        data = yaml.load(fence.body, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = fence.start_line + 1 + (mark.line if mark is not None else 0)
        reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        script.error = problem(path, line, "script-yaml", error=reason)
        return script
    if not isinstance(data, dict):
        script.error = problem(path, fence.start_line, "script-yaml", error="正文应为「属性: 值」形式的映射")
        return script
    script.data = data
    return script


def find_scripts(markdown: str, path: str, first_line: int = 1) -> list[CallScript]:
    return [parse_script(f, path) for f in iter_fences(markdown, first_line) if f.lang == FENCE_NAME]


def _key_line(script: CallScript, key: str) -> int:
    # Keys are listed one per line in the block; good enough to point the trainer at it.
    return script.line + 1 + list(script.data).index(key) if key in script.data else script.line


def check_script(script: CallScript, page_paths: set[str], vocabulary: dict | None = None) -> list[Problem]:
    """Schema and vocabulary checks of one script (uniqueness is checked site-wide elsewhere)."""
    if script.error is not None:
        return [script.error]
    vocabulary = vocabulary or load_vocabulary()
    schema = vocabulary["call_script"]
    path, data = script.path, script.data
    label = f" {script.id} " if script.id else ""
    problems: list[Problem] = []
    allowed = list(schema["required"]) + list(schema["optional"])
    for key in schema["required"]:
        if data.get(key) in (None, "", []):
            problems.append(problem(path, script.line, "script-missing", script=label, key=key))
    for key in data:
        if key not in allowed:
            problems.append(problem(path, _key_line(script, key), "script-unknown-key", script=label, key=key,
                                    hint=suggest(str(key), allowed)))
    for key in ("id", "title", "scenario", "notes"):
        if key in data and data[key] is not None and not isinstance(data[key], str):
            problems.append(problem(path, _key_line(script, key), "script-type", script=label, key=key, expected="文字"))
    if script.id is not None and not re.match(schema["id_pattern"], script.id):
        problems.append(problem(path, _key_line(script, "id"), "script-id-format", value=script.id))
    scenario = data.get("scenario")
    if isinstance(scenario, str) and scenario not in schema["scenarios"]:
        problems.append(problem(path, _key_line(script, "scenario"), "script-value", script=label, key="scenario",
                                value=scenario, hint=suggest(scenario, schema["scenarios"])))
    vocab_lists = {"debtor_types": list(vocabulary["debtor_types"]), "stages": [str(s) for s in vocabulary["stages"]]}
    for key, values in vocab_lists.items():
        if key not in data or data[key] is None:
            continue
        if not isinstance(data[key], list):
            problems.append(problem(path, _key_line(script, key), "script-type", script=label, key=key, expected="列表"))
            continue
        for item in data[key]:
            if str(item) not in values:
                problems.append(problem(path, _key_line(script, key), "script-value", script=label, key=key,
                                        value=item, hint=suggest(str(item), values)))
    related = data.get("related")
    if related is not None:
        if not isinstance(related, list):
            problems.append(problem(path, _key_line(script, "related"), "script-type", script=label, key="related", expected="列表"))
        else:
            for item in related:
                if str(item).split("#")[0] not in page_paths:
                    problems.append(problem(path, _key_line(script, "related"), "related-missing",
                                            where=f"话术 {script.id or ''} 的 ", value=item,
                                            hint=suggest(str(item), page_paths)))
    turns = data.get("turns")
    if turns is not None:
        turns_line = _key_line(script, "turns")
        if not isinstance(turns, list):
            problems.append(problem(path, turns_line, "script-type", script=label, key="turns", expected="列表"))
        else:
            for offset, turn in enumerate(turns, start=1):
                if not (isinstance(turn, dict) and len(turn) == 1):
                    problems.append(problem(path, turns_line + offset, "script-type", script=label, key="turns",
                                            expected="「说话人: 内容」的列表"))
                    continue
                speaker, text = next(iter(turn.items()))
                if speaker not in schema["speakers"]:
                    problems.append(problem(path, turns_line + offset, "script-value", script=label, key="说话人",
                                            value=speaker, hint=suggest(str(speaker), schema["speakers"])))
                if not isinstance(text, (str, int, float)):
                    problems.append(problem(path, turns_line + offset, "script-type", script=label, key="turns",
                                            expected="「说话人: 内容」的列表（内容是一句话）"))
    return problems


# ---------------------------------------------------------------------------------------------
# Rendering


@lru_cache(maxsize=1)
def _to_simplified():
    """Traditional -> Simplified converter, to recognise vocabulary in the generated Traditional edition."""
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a hard dependency
        return lambda text: text
    return opencc.OpenCC("t2s").convert


def _canonical(value: str, known) -> str:
    if value in known:
        return value
    simplified = _to_simplified()(value)
    return simplified if simplified in known else value


def dialogue_text(data: dict) -> str:
    """The plain dialogue, one 'speaker：text' line per turn (what the copy button copies)."""
    lines = []
    for turn in data.get("turns") or []:
        if isinstance(turn, dict):
            for speaker, text in turn.items():
                lines.append(f"{speaker}：{text}")
    return "\n".join(lines)


def render_card(data: dict, vocabulary: dict | None = None) -> str:
    """HTML of one script card. Never raises: invalid scripts are reported by the checks, not here."""
    vocabulary = vocabulary or load_vocabulary()
    schema = vocabulary["call_script"]
    esc = lambda value: html.escape(str(value), quote=True)  # noqa: E731
    script_id = data.get("id")
    id_attr = f' id="{esc(script_id)}"' if isinstance(script_id, str) and script_id else ""
    labels = []
    if data.get("scenario"):
        labels.append(f'<span class="call-script__label call-script__label--scenario" title="场景">{esc(data["scenario"])}</span>')
    for name in data.get("debtor_types") or []:
        page = vocabulary["debtor_types"].get(_canonical(str(name), vocabulary["debtor_types"]))
        inner = esc(name)
        if page:
            inner = f'<a href="{PAGE_LINK_SCHEME}{esc(page)}">{inner}</a>'
        labels.append(f'<span class="call-script__label call-script__label--debtor" title="债务人类型">{inner}</span>')
    for stage in data.get("stages") or []:
        labels.append(f'<span class="call-script__label call-script__label--stage" title="逾期阶段">{esc(stage)}</span>')
    roles = dict(zip(schema["speakers"], SPEAKER_ROLES))
    turns = []
    for turn in data.get("turns") or []:
        if not isinstance(turn, dict):
            continue
        for speaker, text in turn.items():
            role = roles.get(_canonical(str(speaker), roles), "other")
            turns.append(
                f'<div class="call-script__turn call-script__turn--{role}">'
                f'<span class="call-script__speaker">{esc(speaker)}</span>'
                f'<p class="call-script__text">{esc(text)}</p></div>'
            )
    notes = ""
    if data.get("notes"):
        paragraphs = "".join(f"<p>{esc(part)}</p>" for part in str(data["notes"]).split("\n") if part.strip())
        notes = f'<div class="call-script__notes">{paragraphs}</div>'
    copy = esc(dialogue_text(data)).replace("\n", "&#10;")
    return (
        f'<div class="call-script"{id_attr} data-script-id="{esc(script_id or "")}">'
        f'<div class="call-script__header">'
        f'<p class="call-script__title"><span class="call-script__kind">话术</span>{esc(data.get("title", ""))}</p>'
        f'<button class="call-script__copy md-clipboard md-icon" type="button" title="复制对白" '
        f'aria-label="复制对白" data-clipboard-text="{copy}"></button>'
        f"</div>"
        + (f'<div class="call-script__labels">{"".join(labels)}</div>' if labels else "")
        + f'<div class="call-script__turns">{"".join(turns)}</div>'
        + notes
        + "</div>"
    )


def format_fence(source: str, language: str, css_class: str, options: dict, md, **kwargs) -> str:
    """pymdownx.superfences custom-fence formatter for ```call-script blocks."""
    try:
        data = yaml.load(source, Loader=_LOADER)
    except yaml.YAMLError:
        data = None
    if not isinstance(data, dict):
        # The build check reports the YAML error with its line; show the raw text meanwhile.
        return f'<pre class="call-script call-script--invalid"><code>{html.escape(source)}</code></pre>'
    return render_card(data)
