"""Train the learned second detector: `python -m kb.redlines.train` (from tools/, or with the
package installed). Needs scikit-learn: `pip install -e .[train]`; the checker itself does not.

Data: the DEV and TRAIN splits of the labelled corpus (tests/corpus/redlines/*.tsv, every file,
with the Traditional and pinyin variants the loader derives; TRAIN batches are the ones the
rules were never tuned on). The test split is never used.

Per rule (the `learned.rules` list of the rules file): char 1–3-gram TF-IDF (binary tf — the
same DEV CV recall as sublinear tf, and no per-sentence counting at check time) with l2 norm +
L2 logistic regression (class_weight=balanced). The probability threshold is chosen by
k-fold cross-validation on DEV, scoring each held-out item exactly as the checker will (pure-
Python model, sentence by sentence, the item's highest score): the highest recall whose CV
precision stays ≥ `learned.min_precision`, the cut placed midway (in log-odds) between the last
accepted and the first rejected held-out score, never below `learned.min_threshold`. Folds keep
a sentence and its derived variants together. Then `learned.clean_pages` (docs/: reviewed, no
findings) raise a threshold just above the highest probability any of their reportable prose
sentences gets for that rule.

Output (deterministic: sorted keys, rounded weights, gzip without a timestamp): the model file
named by `learned.model`, with the scikit-learn version, an md5 fingerprint of the training
sentences and labels (tests/test_redlines_learned.py checks it is current), the thresholds and
the cross-validated figures.

    python -m kb.redlines.train            # train and write the model
    python -m kb.redlines.train --check    # exit 1 when the model is stale (fingerprint/config)
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import math
import sys
from pathlib import Path

from kb.paths import PACKAGE_DIR

from . import learned
from .rules import load_rules

REPO = PACKAGE_DIR.parent.parent
CORPUS_MODULE_DIR = REPO / "tests"

# Training parameters that are not in the rules file (changing them changes the model).
DEFAULTS = {"min_precision": 0.97, "min_threshold": 0.5, "folds": 5, "C": 10.0, "prune": 0.02, "min_han": 8,
            "min_df": 1, "clean_pages": []}
PARAM_KEYS = ("rules", "min_precision", "min_threshold", "folds", "C", "prune", "min_han", "min_df", "clean_pages")


def config(ruleset) -> dict:
    cfg = dict(DEFAULTS)
    cfg.update({k: v for k, v in (ruleset.raw.get("learned") or {}).items() if v is not None})
    return cfg


def params(cfg: dict) -> dict:
    return {k: cfg[k] for k in PARAM_KEYS}


# --- data ---------------------------------------------------------------------------------------

def corpus_module():
    if str(CORPUS_MODULE_DIR) not in sys.path:
        sys.path.insert(0, str(CORPUS_MODULE_DIR))
    import redlines_corpus

    return redlines_corpus


def training_items(corpus_dir: Path | None = None) -> list:
    """The training sentences: the DEV and TRAIN splits, in load order."""
    rc = corpus_module()
    items = rc.load_corpus(corpus_dir or rc.CORPUS_DIR)
    return [it for it in items if it.split in rc.TRAINING_SPLITS]


def fingerprint(items) -> str:
    """md5 of the training sentences and their labels, in load order."""
    h = hashlib.md5()
    for it in items:
        h.update(f"{','.join(sorted(it.labels))}\t{it.text}\n".encode("utf-8"))
    return h.hexdigest()


def groups(items) -> list[str]:
    """A derived variant (Traditional, pinyin) belongs to the base sentence before it; the same
    sentence in two files is one group."""
    out, base = [], ""
    for it in items:
        if it.variant == "base":
            base = it.text
        out.append(base)
    return out


def fold_of(group: str, k: int) -> int:
    return hashlib.md5(("fold:" + group).encode("utf-8")).digest()[0] % k


# --- fitting -------------------------------------------------------------------------------------

def _sklearn():
    try:
        import sklearn
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression
    except ImportError:
        print("训练学习型检测器需要 scikit-learn：请先运行 pip install -e .[train]"
              "（或 .venv/bin/pip install -e '.[train]'）；检查器本身不需要它。", file=sys.stderr)
        raise SystemExit(2)
    return sklearn, TfidfVectorizer, LogisticRegression


def _penalty(kind: str) -> dict:
    """`penalty=` is deprecated from scikit-learn 1.8 (l1_ratio instead) and goes in 1.10."""
    import sklearn

    major, minor = (int(x) for x in sklearn.__version__.split(".")[:2])
    if (major, minor) >= (1, 8):
        return {"l1_ratio": 1.0 if kind == "l1" else 0.0}
    return {"penalty": kind}


def _norm_texts(ruleset, items) -> list[str]:
    return [ruleset.normalizer(it.text).text for it in items]


def fit(texts: list[str], labels: list[frozenset], cfg: dict) -> dict:
    """One vectorizer, one logistic regression per rule → a model dict without thresholds."""
    _, TfidfVectorizer, LogisticRegression = _sklearn()
    vec = TfidfVectorizer(analyzer=learned.ngrams, binary=True, norm="l2", smooth_idf=True,
                          min_df=cfg.get("min_df", 1))
    X = vec.fit_transform(texts)
    vocab = vec.vocabulary_
    names = [None] * len(vocab)
    for g, j in vocab.items():
        names[j] = g
    idf = vec.idf_
    weights: dict[str, dict] = {}
    bias = {}
    for rid in cfg["rules"]:
        y = [rid in lab for lab in labels]
        if not any(y) or all(y):
            continue
        clf = LogisticRegression(C=cfg["C"], class_weight="balanced", solver="liblinear", max_iter=5000,
                                 random_state=0, **_penalty(cfg.get("penalty", "l2")))
        clf.fit(X, y)
        bias[rid] = round(float(clf.intercept_[0]), 4)
        folded = clf.coef_[0] * idf
        weights[rid] = {names[j]: float(w) for j, w in enumerate(folded) if abs(w) >= cfg["prune"]}
    rules = [r for r in cfg["rules"] if r in bias]
    return pack({"format": learned.MODEL_FORMAT, "rules": rules, "bias": bias, "thresholds": {},
                 "min_han": cfg["min_han"], "scale": SCALE, "field_bits": FIELD_BITS},
                {g: float(idf[j]) for j, g in enumerate(names)}, weights)


SCALE = 10_000  # fixed point: weights are rounded to 4 decimals
FIELD_BITS = 64  # a field holds ±2^63 / SCALE: far beyond any sentence's sum


def pack(model: dict, idf: dict, weights: dict) -> dict:
    """One integer per n-gram: idf² in field 0, each rule's idf-folded weight in field k."""
    rules = model["rules"]
    whole = (1 << (FIELD_BITS * (len(rules) + 1))) - 1
    vectors = {}
    if any("\n" in g for g in idf):
        raise ValueError("an n-gram contains a line break")  # the vocabulary is stored one per line
    for g, v in idf.items():
        fields = [round(v * v * SCALE)] + [round(weights[r].get(g, 0.0) * SCALE) for r in rules]
        packed = 0
        for f in reversed(fields):
            packed = (packed << FIELD_BITS) + f
        vectors[g] = format(packed & whole, "x")  # unsigned hex: compact and parsed in C
    order = sorted(vectors)
    model["vocabulary"] = "\n".join(order)
    model["vectors"] = " ".join(vectors[g] for g in order)
    return model


def item_scores(model: learned.Model, ruleset, texts: list[str]) -> list[list[float]]:
    """Per item, per rule: the highest linear score over its candidate sentences (−inf if none),
    with the same sentence split and guards as the checker (learned.scan_sentences)."""
    scanner = learned._scanner(ruleset)
    rules = [ruleset.by_id.get(r) for r in model.rules]
    out = []
    for t in texts:
        delims = [m.start() for m in ruleset.sentence_delims.finditer(t)]
        best = [-math.inf] * len(model.rules)
        for s0, a, b in learned.sentence_spans(t, delims):
            sent = t[a:b]
            if not learned.is_candidate(sent, model.min_han) or learned.sentence_excluded(scanner, t, s0, a, b):
                continue
            sc = model.scores(sent)
            if sc is None:
                continue
            best = [x if rule is None or learned.rule_excluded(rule, t, a, b) else max(x, y)
                    for x, y, rule in zip(best, sc, rules)]
        out.append(best)
    return out


def choose_threshold(scores: list[float], gold: list[bool], min_precision: float, floor: float):
    """Highest recall with precision ≥ min_precision; returns (probability threshold, precision,
    recall) or None when no cut reaches the precision with at least one true positive."""
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    pos = sum(gold)
    tp = fp = 0
    best = None
    for rank, i in enumerate(order):
        if scores[i] == -math.inf:
            break
        tp += gold[i]
        fp += not gold[i]
        nxt = scores[order[rank + 1]] if rank + 1 < len(order) else -math.inf
        if nxt == scores[i]:
            continue  # a cut can only fall between different scores
        if tp and tp / (tp + fp) >= min_precision and (best is None or tp > best[2]):
            cut = (scores[i] + nxt) / 2 if nxt != -math.inf else scores[i] - 1.0
            best = (cut, tp / (tp + fp), tp)
    if best is None:
        return None
    prob = 1.0 / (1.0 + math.exp(-best[0]))
    prob = min(max(floor, round(prob, 6)), 0.999999)
    return prob, best[1], best[2] / pos if pos else 1.0


def train(items, ruleset, cfg: dict, progress=None) -> dict:
    """Fit on all `items`, choose thresholds by k-fold CV on the same items."""
    texts = _norm_texts(ruleset, items)
    labels = [it.labels for it in items]
    k = cfg["folds"]
    folds = [fold_of(g, k) for g in groups(items)]
    oof: list = [None] * len(items)
    for f in range(k):
        tr = [i for i in range(len(items)) if folds[i] != f]
        te = [i for i in range(len(items)) if folds[i] == f]
        if progress:
            progress(f"  CV 第 {f + 1}/{k} 折：训练 {len(tr)} 句，验证 {len(te)} 句")
        m = learned.Model.from_dict(fit([texts[i] for i in tr], [labels[i] for i in tr], cfg))
        sc = item_scores(m, ruleset, [texts[i] for i in te])
        for i, row in zip(te, sc):
            oof[i] = dict(zip(m.rules, row))
    model = fit(texts, labels, cfg)
    chosen = {}
    for rid in model["rules"]:
        got = choose_threshold([row.get(rid, -math.inf) for row in oof], [rid in lab for lab in labels],
                               cfg["min_precision"], cfg["min_threshold"])
        if got is not None:
            chosen[rid] = got[0]
    # Pages known to be clean (docs/: reviewed, 0 findings from the rules) raise a threshold
    # just above the highest probability any of their prose sentences gets for that rule.
    clean = clean_page_maxima(model, ruleset, cfg.get("clean_pages") or [])
    thresholds, cv = {}, {}
    for rid, t in chosen.items():
        if rid in clean:
            t = max(t, _above(clean[rid]))
        if t >= 0.999999:
            continue
        cut = learned._logit(t)
        s = [row.get(rid, -math.inf) for row in oof]
        gold = [rid in lab for lab in labels]
        tp = sum(1 for x, g in zip(s, gold) if x >= cut and g)
        fp = sum(1 for x, g in zip(s, gold) if x >= cut and not g)
        fn = sum(1 for x, g in zip(s, gold) if x < cut and g)
        thresholds[rid] = t
        cv[rid] = {"precision": round(tp / (tp + fp), 4) if tp + fp else 1.0,
                   "recall": round(tp / (tp + fn), 4) if tp + fn else 1.0, "support": tp + fn}
    model["thresholds"] = thresholds
    model["cv"] = cv
    model["cv_thresholds"] = chosen
    model["clean_max"] = {r: round(p, 4) for r, p in clean.items()}
    # Rules without a usable threshold are dropped from the shipped model (their fields too).
    dropped = [r for r in model["rules"] if r not in thresholds]
    if dropped:
        m = learned.Model.from_dict(model)
        keep = [k for k, r in enumerate(model["rules"]) if r not in dropped]
        idf = {}
        weights = {model["rules"][k]: {} for k in keep}
        for g, packed in m.vectors.items():
            fields = m.unpack(packed)
            idf[g] = math.sqrt(fields[0])
            for k in keep:
                if fields[k + 1]:
                    weights[model["rules"][k]][g] = fields[k + 1]
        model["rules"] = [model["rules"][k] for k in keep]
        for r in dropped:
            model["bias"].pop(r, None)
        pack(model, idf, weights)
    model["dropped"] = dropped
    return model


CLEAN_MARGIN = 0.1  # in log-odds, above the highest clean-page score


def _above(p: float) -> float:
    """A probability threshold a little above `p` (rounded up to 4 decimals)."""
    q = 1.0 / (1.0 + math.exp(-(learned._logit(min(max(p, 1e-6), 1 - 1e-6)) + CLEAN_MARGIN)))
    return min(math.ceil(q * 10000) / 10000, 0.999999)


def clean_page_maxima(model: dict, ruleset, paths: list[str]) -> dict[str, float]:
    """Per rule, the highest probability the learned detector gives a sentence of the clean
    pages that it could report (prose, not exempt, not suppressed, guards passed, not already
    reported by the rules) — found by checking the pages with every threshold at zero."""
    if not paths:
        return {}
    from . import check_markdown, check_text
    from .cli import MARKDOWN_SUFFIXES, _collect

    m = learned.Model.from_dict(dict(model, thresholds={r: 0.5 for r in model["rules"]}))
    m.cuts = tuple(-math.inf for _ in m.rules)
    best: dict[str, float] = {}
    with learned.using(m):
        for f in _collect([str(REPO / p) for p in paths]):
            text = f.read_text(encoding="utf-8").removeprefix("\ufeff")
            check = check_markdown if f.suffix.lower() in MARKDOWN_SUFFIXES else check_text
            for finding in check(text, str(f), rules=ruleset):
                if finding.detector != "learned":
                    continue
                sent = ruleset.normalizer(finding.match).text
                p = m.probabilities(sent)[finding.rule]
                if p > best.get(finding.rule, 0.0):
                    best[finding.rule] = p
    return best


def cross_validated_predictions(items, ruleset, cfg: dict, progress=None) -> list[set]:
    """Nested CV: for each outer fold the WHOLE training procedure (fit + inner-CV thresholds)
    runs on the other folds; the held-out items get that model's learned predictions."""
    k = cfg["folds"]
    folds = [fold_of("outer:" + g, k) for g in groups(items)]
    preds: list = [None] * len(items)
    for f in range(k):
        tr = [items[i] for i in range(len(items)) if folds[i] != f]
        te = [i for i in range(len(items)) if folds[i] == f]
        if progress:
            progress(f"外层第 {f + 1}/{k} 折：训练 {len(tr)} 句，评估 {len(te)} 句")
        m = learned.Model.from_dict(train(tr, ruleset, cfg))
        for i in te:
            preds[i] = learned.predict_text(m, ruleset, items[i].text)
    return preds


def dump(model: dict) -> bytes:
    text = json.dumps(model, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return buf.getvalue()


def stale_reason(ruleset, items=None) -> str | None:
    """Why the shipped model does not match the corpus or the config (None when current)."""
    cfg = config(ruleset)
    path = learned.model_path(ruleset)
    if path is None:
        return "规则文件的 learned.model 未设置"
    try:
        model = learned.load_model(path)
    except learned.ModelError as exc:
        return str(exc)
    items = training_items() if items is None else items
    if model.meta.get("fingerprint") != fingerprint(items):
        return (f"模型 {path.name} 不是用当前语料的 DEV/TRAIN 集训练的（指纹 {model.meta.get('fingerprint')} ≠ "
                f"{fingerprint(items)}）")
    if model.meta.get("params") != params(cfg):
        return f"模型 {path.name} 的训练参数与规则文件的 learned 配置不一致"
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kb.redlines.train", description="训练红线学习型检测器（只用语料的 DEV 和 TRAIN 集）")
    ap.add_argument("--rules", help="规则文件（默认 tools/kb/data/redlines.yml）")
    ap.add_argument("--check", action="store_true", help="只检查模型是否与语料和配置一致（不一致时以 1 退出）")
    ap.add_argument("--out", help="写到另一个文件（默认 learned.model）")
    args = ap.parse_args(argv)
    rs = load_rules(args.rules)
    if args.check:
        why = stale_reason(rs)
        print(why or "学习型检测器模型是最新的。", file=sys.stderr if why else sys.stdout)
        return 1 if why else 0
    sklearn, _, _ = _sklearn()
    cfg = config(rs)
    items = training_items()
    print(f"DEV + TRAIN 集 {len(items)} 句（含繁体/拼音变体），规则 {', '.join(cfg['rules'])}", file=sys.stderr)
    model = train(items, rs, cfg, progress=lambda m: print(m, file=sys.stderr))
    model.update({"sklearn": sklearn.__version__, "fingerprint": fingerprint(items), "dev_sentences": len(items),
                  "params": params(cfg), "trained_with": "python -m kb.redlines.train"})
    out = Path(args.out) if args.out else learned.model_path(rs)
    out.write_bytes(dump(model))
    print(f"已写入 {out}（{out.stat().st_size // 1024} KiB，{len(model['vocabulary'].splitlines())} 个 n-gram）", file=sys.stderr)
    for rid in model["rules"]:
        c = model["cv"][rid]
        raised = (f"（CV 选出 {model['cv_thresholds'][rid]:.3f}，因干净页面最高 {model['clean_max'][rid]:.3f} 而提高）"
                  if model["thresholds"][rid] > model["cv_thresholds"][rid] else "")
        print(f"  {rid}  阈值 {model['thresholds'][rid]:.3f}{raised}  CV P {c['precision']:.2f} R {c['recall']:.2f} "
              f"n {c['support']}", file=sys.stderr)
    if model["dropped"]:
        print(f"  未达到 CV 精确率 {cfg['min_precision']} 而不覆盖：{', '.join(model['dropped'])}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
