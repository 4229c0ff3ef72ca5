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
# dev: the rules are tuned on it (and the learned detector trained); train: only the learned
# detector is trained on it (the rules never were, so it is not held to dev's bar); test: never used.
SPLITS = ("dev", "train", "test")
TRAINING_SPLITS = ("dev", "train")

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
    split: str  # "dev", "train" or "test"
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
    """Every *.tsv in the corpus folder (or one file). A `#split: dev|train|test` line fixes the
    split of the sentences after it (blind batches, training-only batches); otherwise the split
    is by hash."""
    import opencc

    s2t = opencc.OpenCC("s2t")
    items: list[Item] = []
    files = sorted(path.glob("*.tsv")) if path.is_dir() else [path]
    lines = [raw for f in files for raw in ["#split: hash"] + f.read_text(encoding="utf-8").splitlines()]
    forced = None
    for raw in lines:
        if raw.startswith("#split:"):
            forced = raw.split(":", 1)[1].strip()
            forced = forced if forced in SPLITS else None
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
    """The RULES' predictions (the learned second detector switched off; see evaluate_learned)."""
    from kb.redlines import check_text, learned

    with learned.using(None):
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
    for split in SPLITS:
        sel = [(it, p) for it, p in zip(items, preds) if it.split == split]
        tables[split] = score([a for a, _ in sel], [b for _, b in sel], rule_ids)
    tables["all"] = score(items, preds, rule_ids)
    errors = [(it, p) for it, p in zip(items, preds) if p != it.labels]
    return tables, errors


def evaluate_learned(progress=None) -> dict:
    """Rules only vs rules ∪ learned detector, per rule (aggregate figures only, no sentences).

    dev+train (the training sentences): the learned part is CROSS-VALIDATED (nested: each outer
    fold runs the whole training procedure — fit and inner-CV thresholds — on the other folds); a
    model scored on its own training data would be meaningless. test and the round-5 blind batch:
    the shipped model (trained on all of DEV and TRAIN). Needs scikit-learn for the cross-validated
    part (pip install -e .[train])."""
    from kb.redlines import learned, load_rules
    from kb.redlines import train as trainer

    rs = load_rules()
    cfg = trainer.config(rs)
    items = load_corpus()
    rules_pred = predict(items, rs)
    rule_ids = [r.id for r in rs.rules]
    train_idx = [i for i, it in enumerate(items) if it.split in TRAINING_SPLITS]
    test_idx = [i for i, it in enumerate(items) if it.split == "test"]
    training = [items[i] for i in train_idx]
    stale = trainer.stale_reason(rs, training)
    cv = trainer.cross_validated_predictions(training, rs, cfg, progress=progress)
    model = learned.active_model(rs)
    learned_pred: list = [frozenset()] * len(items)
    for i, p in zip(train_idx, cv):
        learned_pred[i] = frozenset(p)
    for i in test_idx:
        learned_pred[i] = frozenset(learned.predict_text(model, rs, items[i].text))
    r5 = {it.text for it in load_corpus(CORPUS_DIR / "corpus-round5.tsv") if it.split == "test"}
    groups = {"dev+train": train_idx, "test": test_idx, "r5-test": [i for i in test_idx if items[i].text in r5]}
    out = {"stale": stale, "covered": list(model.rules), "thresholds": dict(model.thresholds), "tables": {}}
    for name, idx in groups.items():
        sel = [items[i] for i in idx]
        out["tables"][name] = {
            "rules": score(sel, [rules_pred[i] for i in idx], rule_ids),
            "learned": score(sel, [learned_pred[i] for i in idx], rule_ids),
            "union": score(sel, [rules_pred[i] | learned_pred[i] for i in idx], rule_ids),
        }
    return out


def format_learned(result: dict) -> str:
    lines = []
    for name, t in result["tables"].items():
        lines += ["", f"### {name}（rules = 仅规则，learned = 仅学习型检测器，union = 两者并集）", "",
                  "| 规则 | rules P | rules R | learned P | learned R | union P | union R | n | union 新增 TP | union 新增 FP |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for rid in result["covered"]:
            r, l, u = t["rules"][rid], t["learned"][rid], t["union"][rid]
            lines.append(f"| {rid} | {r['precision']:.2f} | {r['recall']:.2f} | {l['precision']:.2f} | {l['recall']:.2f} | "
                         f"{u['precision']:.2f} | {u['recall']:.2f} | {r['support']} | {u['tp'] - r['tp']} | {u['fp'] - r['fp']} |")
        tot = {k: {m: sum(t[k][rid][m] for rid in result["covered"]) for m in ("tp", "fp", "fn")} for k in t}
        cells = []
        for k in ("rules", "learned", "union"):
            a = tot[k]
            cells += [f"{a['tp'] / (a['tp'] + a['fp']):.3f}" if a["tp"] + a["fp"] else "-",
                      f"{a['tp'] / (a['tp'] + a['fn']):.3f}" if a["tp"] + a["fn"] else "-"]
        lines.append(f"| 合计（微平均） | {' | '.join(cells)} | {tot['rules']['tp'] + tot['rules']['fn']} | "
                     f"{tot['union']['tp'] - tot['rules']['tp']} | {tot['union']['fp'] - tot['rules']['fp']} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
    if "--learned" in sys.argv:
        res = evaluate_learned(progress=lambda m: print(m, file=sys.stderr))
        if res["stale"]:
            print(f"注意：{res['stale']}（python -m kb.redlines.train 重新训练）", file=sys.stderr)
        print("学习型检测器覆盖：" + ", ".join(f"{r} p≥{res['thresholds'][r]:.3f}" for r in res["covered"]))
        print(format_learned(res))
        sys.exit(0)
    show = sys.argv[1] if len(sys.argv) > 1 else "dev"
    tables, errors = evaluate()
    items = load_corpus()
    counts = {s: sum(1 for it in items if it.split == s) for s in SPLITS}
    print(f"corpus: {len(items)} sentences (dev {counts['dev']}, train {counts['train']}, test {counts['test']}); "
          f"violations {sum(1 for it in items if it.labels)}, compliant {sum(1 for it in items if not it.labels)}")
    print(format_table(tables))
    for it, p in errors:
        if show == "all" or it.split == show:
            print(f"[{it.split}] gold={','.join(sorted(it.labels)) or '-'} pred={','.join(sorted(p)) or '-'}  {it.text}")
