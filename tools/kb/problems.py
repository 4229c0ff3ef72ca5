"""Build problems: one record type, one message catalogue, one way to suggest fixes.

Every check in `kb` returns `Problem`s built from `MESSAGES`, so the build hook, the
`kb-check` command and the 编写指南 error table (generated from this catalogue) can
never disagree about what a message says or how to fix it.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable

# How many "did you mean" candidates to show and how close they must be (difflib ratio).
SUGGESTION_COUNT = 3
SUGGESTION_CUTOFF = 0.5

# code -> (message template, what it means and how to fix it). Templates use str.format fields.
MESSAGES: dict[str, tuple[str, str]] = {
    "encoding": (
        "文件不是 UTF-8 编码（第 {bad_line} 行附近的字节无法解码）",
        "用编辑器把文件另存为 UTF-8（无 BOM 亦可）；不要用 GBK/GB2312 保存。",
    ),
    "front-matter-yaml": (
        "页首元数据（--- 之间的 YAML）格式错误：{error}",
        "检查冒号后是否有空格、缩进是否一致、列表是否写成 [a, b]；含冒号的值请加引号。",
    ),
    "front-matter-missing": (
        "页首元数据缺少必填字段 {key}",
        "每页开头都要有 title、tags、sources 三个字段，复制编写指南中的页面模板即可。",
    ),
    "front-matter-unknown-key": (
        "页首元数据有未定义的字段 {key}{hint}",
        "只能使用编写指南「页首元数据」一节列出的字段；常见笔误：tag → tags、source → sources。",
    ),
    "front-matter-type": (
        "页首元数据字段 {key} 应为{expected}，实际是：{actual}",
        "列表写成 [甲, 乙]；文字直接写在冒号后面。",
    ),
    "front-matter-value": (
        "页首元数据字段 {key} 的取值 {value} 不在受控词表中{hint}",
        "只能使用受控词表中的取值（见编写指南「受控词表」）；需要新取值时先请维护者加入 tools/kb/data/vocabulary.yml。",
    ),
    "related-missing": (
        "{where}related 引用的页面 {value} 不存在{hint}",
        "写 docs/ 之下的相对路径，例如 debtors/deadbeat.md；确认文件名拼写。",
    ),
    "script-yaml": (
        "话术块 YAML 格式错误：{error}",
        "话术块正文是 YAML：每轮对白写成「- 催收员: 内容」，冒号后要有空格；含冒号的句子请整句加引号。",
    ),
    "script-missing": (
        "话术块{script}缺少必填属性 {key}",
        "每个话术块都要有 id、title、scenario、turns。",
    ),
    "script-unknown-key": (
        "话术块{script}有未定义的属性 {key}{hint}",
        "话术块只能使用 id、title、scenario、turns、debtor_types、stages、notes、related。",
    ),
    "script-type": (
        "话术块{script}的属性 {key} 应为{expected}",
        "turns 是列表，每项是「说话人: 内容」；debtor_types、stages、related 是列表；其余是文字。",
    ),
    "script-value": (
        "话术块{script}的 {key} 取值 {value} 不在受控词表中{hint}",
        "scenario、说话人、debtor_types、stages 只能用受控词表中的取值（见编写指南「受控词表」）。",
    ),
    "script-id-format": (
        "话术 id {value} 格式不对：只能用小写字母、数字和连字符，例如 promiser-broken-promise",
        "把 id 改成小写英文单词加连字符；不要用中文、空格或下划线。",
    ),
    "script-id-duplicate": (
        "话术 id {value} 重复：{other} 已经使用了这个 id",
        "话术 id 在全站必须唯一，给其中一个换个名字（同时改掉指向它的链接）。",
    ),
    "script-anchor-missing": (
        "链接 {target} 指向的话术 id {value} 在 {page} 上不存在{hint}",
        "核对链接 # 后面的话术 id；话术 id 写在话术块的 id: 一行。",
    ),
    "include-missing": (
        "引入的片段文件 {value} 不存在（片段目录：{base}）{hint}",
        "--8<-- 引用的文件必须在 docs/_includes/ 下；检查文件名。",
    ),
    "include-link": (
        "片段 {snippet} 第 {snippet_line} 行的链接 {target} 在本页无法解析：{reason}{hint}",
        "片段中的相对链接按「引用它的页面」解析；改成对所有引用页面都成立的路径，或把链接移出片段。",
    ),
    "generator-unknown": (
        "未知的生成标记 {value}{hint}",
        "可用的生成标记见编写指南「自动生成的内容」；检查拼写，或删除这一行。",
    ),
    "generator-args": (
        "生成标记 {value} 的参数有误：{reason}",
        "按编写指南「自动生成的内容」中的写法填写参数。",
    ),
    "glossary-missing": (
        "术语提示 *[{value}] 在术语表 glossary.md 中没有对应条目{hint}",
        "在 docs/glossary.md 为该术语加一个条目，或从 docs/_includes/abbreviations.md 删除这一行。",
    ),
    "glossary-duplicate": (
        "术语提示 *[{value}] 重复定义（第 {other} 行已有）",
        "每个术语在 abbreviations.md 中只写一次。",
    ),
    "orphan-page": (
        "页面既不在导航（mkdocs.yml 的 nav）中，也没有任何页面链接到它",
        "把页面加入 mkdocs.yml 的 nav，或从相关页面链接到它；不再需要的页面请删除。",
    ),
    "redline-rules": (
        "本次构建没有做红线检查——{reason}",
        "按报错修改 tools/kb/data/redlines.yml（运行 python tools/redlines.py --list-rules 会给出同一条报错），改好后重新构建。",
    ),
    "redline": (
        "红线 {rule}：{text}",
        "改写成合规说法；若必须展示反例，把它放进 !!! redline 提示框并紧跟 !!! compliant 合规做法（见编写指南「反例怎么写」）。",
    ),
}


def suggest(value: object, candidates: Iterable[str]) -> str:
    """A '（您是不是想写：…？）' hint with the nearest valid values, or '' if none is close."""
    if not isinstance(value, str):
        return ""
    matches = difflib.get_close_matches(value, list(candidates), n=SUGGESTION_COUNT, cutoff=SUGGESTION_CUTOFF)
    if not matches:
        return ""
    return "（您是不是想写：" + "、".join(matches) + "？）"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing a trainer must fix: where, which rule, and the message shown to them."""

    path: str  # docs-relative path (or repository-relative for files outside docs/)
    line: int  # 1-based line in that file; 0 when the problem concerns the whole file
    code: str
    message: str

    def format(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.message}"


def problem(path: str, line: int | None, code: str, **fields: object) -> Problem:
    """Build a Problem from the catalogue template for `code`."""
    template, _ = MESSAGES[code]
    fields.setdefault("hint", "")
    return Problem(path, int(line or 0), code, template.format(**fields))


def render_message_table() -> str:
    """Markdown table of every message the checks can emit (for the 编写指南 page)."""
    rows = ["| 代码 | 报错信息（示意） | 含义与修改方法 |", "| --- | --- | --- |"]
    for code, (template, fix) in MESSAGES.items():
        shown = template.replace("{hint}", "（您是不是想写：…？）").replace("|", "\\|")
        shown = shown.replace("{", "‹").replace("}", "›")
        rows.append(f"| `{code}` | {shown} | {fix} |")
    return "\n".join(rows)
