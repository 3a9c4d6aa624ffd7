"""Augmentation benchmarks (issue 7): text (SST-2, TREC, SMS spam), table imbalance (credit default,
bank marketing, bank churners) and table scarcity (Adult, 500 rows).

    .venv/bin/python benchmarks/bench_augment.py text --dataset sst2 --train-size 500 --draws 5
    .venv/bin/python benchmarks/bench_augment.py imbalance --dataset credit_default --repeats 3
    .venv/bin/python benchmarks/bench_augment.py scarcity --train-size 500 --repeats 5

Each run prints a Markdown table + verdicts and writes JSON (and HTML) under benchmarks/_work/augment/.
The peer of the table runs is SMOTE / SMOTE-NC (imbalanced-learn), run in the same process.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DATA = next((p for p in (ROOT / "../shared/datasets", ROOT.parent / "shared/datasets") if p.exists()), ROOT / "../shared/datasets")
OUT = ROOT / "benchmarks/_work/augment"

#: EDA settings compared on text. "paper" is plain EDA (alpha 0.1 for all four operations).
EDA_VARIANTS = {
    "paper": {},
    "bow": {"alpha_sr": 0.3, "alpha_ri": 0.3, "alpha_rs": 0.0, "p_rd": 0.1},
}


def load_text(name: str) -> tuple[pd.DataFrame, pd.DataFrame, str, str]:
    """(train, test, text column, label column) of a text data set."""
    d = DATA / "text"
    if name == "sst2":
        tr = pd.read_csv(d / "sst2/train.tsv", sep="\t", quoting=csv.QUOTE_NONE)
        te = pd.read_csv(d / "sst2/dev.tsv", sep="\t", quoting=csv.QUOTE_NONE).rename(columns={"content": "sentence"})
        return tr, te, "sentence", "label"
    if name == "trec":
        def read(f: str) -> pd.DataFrame:
            lines = (d / "trec" / f).read_text(encoding="latin-1").splitlines()
            return pd.DataFrame({"label": [ln.split(":", 1)[0] for ln in lines],
                                 "question": [ln.split(" ", 1)[1] for ln in lines]})
        return read("train_5500.label"), read("TREC_10.label"), "question", "label"
    if name == "sms":
        df = pd.read_csv(d / "sms_spam/sms_spam.csv", encoding="latin-1")
        test = df.sample(frac=0.2, random_state=0)
        return df.drop(test.index), test, "text", "type"
    raise SystemExit(f"unknown text data set {name}")


def load_table(name: str) -> tuple[pd.DataFrame, str]:
    d = DATA / "tabular"
    if name == "credit_default":
        return pd.read_csv(d / "credit_default/UCI_Credit_Card.csv").drop(columns=["ID"]), "Y"
    if name == "bank_marketing":
        return pd.read_csv(d / "bank_marketing/bank-full.csv", sep=";"), "y"
    if name == "bank_churners":
        df = pd.read_csv(d / "bank_churners/BankChurners.csv")
        return df.drop(columns=["CLIENTNUM", *[c for c in df.columns if c.startswith("Naive_Bayes")]]), "Attrition_Flag"
    if name == "adult":
        return pd.read_csv(d / "adult/adult.csv"), "income"
    raise SystemExit(f"unknown table {name}")


def split(df: pd.DataFrame, target: str, test_size: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    from sklearn.model_selection import train_test_split

    tr, te = train_test_split(df, test_size=test_size, stratify=df[target], random_state=seed)
    return tr.reset_index(drop=True), te.reset_index(drop=True)


def context() -> dict[str, str]:
    return {"uptime": subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip(), "cpus": str(os.cpu_count())}


def report(result, name: str, seconds: float) -> None:  # type: ignore[no-untyped-def]
    OUT.mkdir(parents=True, exist_ok=True)
    result.info["bench_seconds"] = round(seconds, 1)
    result.info.update(context())
    result.save_json(OUT / f"{name}.json")
    result.save_html(OUT / f"{name}.html")
    print(f"\n## {name}  ({seconds:.0f} s; {result.info['uptime']})\n")
    print(result.to_text(), flush=True)


def run_text(args: argparse.Namespace) -> None:
    from simulacra.augment import run_text_uplift

    tr, te, text, label = load_text(args.dataset)
    results = {}
    for classifier in args.classifier:
        for variant in args.eda:
            start = time.perf_counter()
            methods = ["none", "eda"] + (["eda-filtered"] if args.filtered else [])
            if classifier != "tfidf-lr" and not args.embed_eda:
                methods = ["none"]  # embedding 16 augmentations per sentence costs minutes per draw
            res = run_text_uplift(tr, te, text, label, methods=methods, ratios=[args.n_aug], repeats=args.draws,
                                  train_size=args.train_size, eda_params=EDA_VARIANTS[variant], classifier=classifier)
            res.info["eda_variant"] = variant
            suffix = "" if classifier == "tfidf-lr" else f"_{classifier}"
            report(res, f"text_{args.dataset}_{variant}_{args.n_aug}{suffix}", time.perf_counter() - start)
            results[(classifier, variant)] = res
            if classifier != "tfidf-lr" or len(methods) == 1:
                break  # the EDA variant does not matter for a classifier run without EDA
    base = results.get(("tfidf-lr", args.eda[0]))
    if base is None or len(results) < 2:
        return
    # paired comparison with plain EDA (TF-IDF) on the same draws
    ref = base.runs[base.runs["method"] == "eda"].set_index("repeat")["accuracy"]
    print("\n## paired gain over EDA + TF-IDF (same draws), accuracy points\n")
    for (classifier, variant), res in results.items():
        for method, rows in res.runs.groupby("method"):
            gain = (rows.set_index("repeat")["accuracy"] - ref).dropna() * 100
            sd = rows["accuracy"].std(ddof=1) * 100
            print(f"{classifier:13s} {variant:6s} {method:13s} accuracy {rows['accuracy'].mean() * 100:5.1f} ± {sd:.1f}"
                  f"  gain over EDA {gain.mean():+5.1f} (sd {gain.std(ddof=1):.1f})")


def run_imbalance(args: argparse.Namespace) -> None:
    from simulacra.augment import run_table_uplift

    df, target = load_table(args.dataset)
    tr, te = split(df, target, test_size=args.test_rows)
    if args.train_rows and args.train_rows < len(tr):
        tr = split(tr, target, test_size=len(tr) - args.train_rows, seed=1)[0]
    start = time.perf_counter()
    res = run_table_uplift(tr, te, target, methods=args.methods, ratios=args.ratios,
                           mode="balance", repeats=args.repeats, synthesizer=args.model)
    res.info["subsample"] = f"train {len(tr)} rows (stratified draw), test {len(te)} rows (stratified hold-out)"
    report(res, f"imbalance_{args.dataset}", time.perf_counter() - start)


def run_scarcity(args: argparse.Namespace) -> None:
    from simulacra.augment import run_table_uplift

    df, target = load_table("adult")
    tr, te = split(df, target, test_size=args.test_rows)
    start = time.perf_counter()
    res = run_table_uplift(tr, te, target, methods=["none", "synth", "smote"], ratios=args.ratios, mode="mix",
                           repeats=args.repeats, train_size=args.train_size, synthesizer=args.model)
    report(res, f"scarcity_adult_{args.train_size}", time.perf_counter() - start)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("text")
    t.add_argument("--dataset", default="sst2", choices=["sst2", "trec", "sms"])
    t.add_argument("--train-size", type=int, default=500)
    t.add_argument("--draws", type=int, default=5)
    t.add_argument("--n-aug", type=int, default=16)
    t.add_argument("--eda", nargs="+", default=["paper"], choices=list(EDA_VARIANTS))
    t.add_argument("--filtered", action="store_true", help="also EDA + label-consistency filter")
    t.add_argument("--classifier", nargs="+", default=["tfidf-lr"], choices=["tfidf-lr", "embedding-lr"])
    t.add_argument("--embed-eda", action="store_true", help="also EDA arms for embedding-lr (slow)")
    i = sub.add_parser("imbalance")
    i.add_argument("--dataset", default="credit_default", choices=["credit_default", "bank_marketing", "bank_churners"])
    i.add_argument("--ratios", type=float, nargs="+", default=[1.0])
    i.add_argument("--repeats", type=int, default=3)
    i.add_argument("--train-rows", type=int, default=6000)
    i.add_argument("--test-rows", type=int, default=3000)
    i.add_argument("--model", default=None)
    i.add_argument("--methods", nargs="+", default=["none", "random", "smote", "synth", "synth-unfiltered", "synth-conditional"])
    s = sub.add_parser("scarcity")
    s.add_argument("--train-size", type=int, default=500)
    s.add_argument("--ratios", type=float, nargs="+", default=[0.5, 1.0, 2.0, 4.0])
    s.add_argument("--repeats", type=int, default=5)
    s.add_argument("--test-rows", type=int, default=5000)
    s.add_argument("--model", default=None)
    args = p.parse_args()
    if not DATA.exists():
        raise SystemExit(f"data sets not found at {DATA}")
    {"text": run_text, "imbalance": run_imbalance, "scarcity": run_scarcity}[args.cmd](args)
    print(json.dumps(context()))


if __name__ == "__main__":
    main()
