"""The labelled red-line corpus: loading, derived variants, dev/test split, scoring.

Run `python tests/redlines_corpus.py` to print the per-rule precision/recall table
(the figures in tests/corpus/redlines/README.md come from it).
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path

CORPUS_DIR = Path(__file__).resolve().parent / "corpus" / "redlines"
CORPUS_FILE = CORPUS_DIR / "corpus.tsv"
DEV_SHARE = 6  # of 10: a sentence goes to dev when md5(text)[0] % 10 < DEV_SHARE

# Scraping noise: inline pinyin after a character, as in the seed documents (執(zhí)行).
PINYIN = {
    "你": "nǐ", "还": "huán", "還": "huán", "钱": "qián", "錢": "qián", "欠": "qiàn", "债": "zhài", "債": "zhài",
    "执": "zhí", "執": "zhí", "打": "dǎ", "电": "diàn", "電": "diàn", "话": "huà", "話": "huà", "家": "jiā",
    "客": "kè", "户": "hù", "戶": "hù", "们": "men", "們": "men", "他": "tā", "说": "shuō", "說": "shuō",
    "让": "ràng", "讓": "ràng", "就": "jiù", "要": "yào", "信": "xìn", "法": "fǎ", "院": "yuàn", "通": "tōng",
}


@dataclass(frozen=True)
class Item:
    text: str
    labels: frozenset
    split: str  # "dev" or "test"
    variant: str  # "base", "traditional", "pinyin"


def _split(text: str) -> str:
    return "dev" if hashlib.md5(text.encode("utf-8")).digest()[0] % 10 < DEV_SHARE else "test"


def _pinyin_noise(text: str, limit: int = 2) -> str:
    out, added = [], 0
    for ch in text:
        out.append(ch)
        if added < limit and ch in PINYIN:
            out.append(f"({PINYIN[ch]})")
            added += 1
    return "".join(out)


def load_corpus(path: Path = CORPUS_DIR) -> list[Item]:
    """Every *.tsv in the corpus folder (or one file). A `#split: dev|test` line fixes the
    split of the sentences after it (blind batches); otherwise the split is by hash."""
    import opencc

    s2t = opencc.OpenCC("s2t")
    items: list[Item] = []
    files = sorted(path.glob("*.tsv")) if path.is_dir() else [path]
    lines = [raw for f in files for raw in ["#split: hash"] + f.read_text(encoding="utf-8").splitlines()]
    forced = None
    for raw in lines:
        if raw.startswith("#split:"):
            forced = raw.split(":", 1)[1].strip()
            forced = forced if forced in ("dev", "test") else None
            continue
        if not raw.strip() or raw.startswith("#"):
            continue
        label_part, text = raw.split("\t", 1)
        labels = frozenset() if label_part.strip() == "-" else frozenset(x.strip() for x in label_part.split(","))
        split = forced or _split(text)
        digest = hashlib.md5(text.encode("utf-8")).digest()
        items.append(Item(text, labels, split, "base"))
        if digest[1] % 3 == 0:
            items.append(Item(s2t.convert(text), labels, split, "traditional"))
        if digest[2] % 4 == 0:
            base = s2t.convert(text) if digest[3] % 2 else text
            noisy = _pinyin_noise(base)
            if noisy != base:
                items.append(Item(noisy, labels, split, "pinyin"))
    return items


def predict(items, rules=None) -> list[frozenset]:
    from kb.redlines import check_text

    return [frozenset(f.rule for f in check_text(it.text, rules=rules) if f.rule.startswith("R")) for it in items]


def score(items, predictions, rule_ids) -> dict:
    table = {}
    for rid in rule_ids:
        tp = sum(1 for it, p in zip(items, predictions) if rid in p and rid in it.labels)
        fp = sum(1 for it, p in zip(items, predictions) if rid in p and rid not in it.labels)
        fn = sum(1 for it, p in zip(items, predictions) if rid not in p and rid in it.labels)
        precision = tp / (tp + fp) if tp + fp else 1.0
        recall = tp / (tp + fn) if tp + fn else 1.0
        table[rid] = {"tp": tp, "fp": fp, "fn": fn, "precision": precision, "recall": recall,
                      "support": tp + fn}
    return table


def format_table(tables: dict) -> str:
    splits = list(tables)
    head = "| 规则 | " + " | ".join(f"{s} P | {s} R | {s} n" for s in splits) + " |"
    sep = "|---|" + "---|---|---|" * len(splits)
    rows = [head, sep]
    rule_ids = list(next(iter(tables.values())))
    for rid in rule_ids:
        cells = []
        for s in splits:
            r = tables[s][rid]
            cells += [f"{r['precision']:.2f}", f"{r['recall']:.2f}", str(r["support"])]
        rows.append(f"| {rid} | " + " | ".join(cells) + " |")
    return "\n".join(rows)


def evaluate(rules=None) -> tuple[dict, list]:
    from kb.redlines import load_rules

    rs = load_rules(rules)
    items = load_corpus()
    preds = predict(items, rs)
    rule_ids = [r.id for r in rs.rules]
    tables = {}
    for split in ("dev", "test"):
        sel = [(it, p) for it, p in zip(items, preds) if it.split == split]
        tables[split] = score([a for a, _ in sel], [b for _, b in sel], rule_ids)
    tables["all"] = score(items, preds, rule_ids)
    errors = [(it, p) for it, p in zip(items, preds) if p != it.labels]
    return tables, errors


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    show = sys.argv[1] if len(sys.argv) > 1 else "dev"
    tables, errors = evaluate()
    items = load_corpus()
    counts = {s: sum(1 for it in items if it.split == s) for s in ("dev", "test")}
    print(f"corpus: {len(items)} sentences (dev {counts['dev']}, test {counts['test']}); "
          f"violations {sum(1 for it in items if it.labels)}, compliant {sum(1 for it in items if not it.labels)}")
    print(format_table(tables))
    for it, p in errors:
        if show == "all" or it.split == show:
            print(f"[{it.split}] gold={','.join(sorted(it.labels)) or '-'} pred={','.join(sorted(p)) or '-'}  {it.text}")
