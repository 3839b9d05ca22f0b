#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The FCIT tables of docs/papers-in-miniature.md: DISCO against FedAvg with fine-tuning, EWC, LwF
and replay on the same LoRA, in the homogeneous and heterogeneous presets, plus DISCO's ablations.
Every variant is the preset with the fields shown changed; nothing else is tuned.

Usage (after a build): python3 tests/bench/fcit_table.py [BUILD_DIR] [--quick]
  --quick: one seed for every row (the full table runs the main rows on three seeds).
  --only=PRESET: one table (fcit-hom, fcit-het or fcit-cap).
  --match=REGEX: only the rows whose name matches (e.g. --match='identity|encoder|faithful').
About 75 s a run on 2 cores; the full table is about 30 runs."""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
build = next((a for a in sys.argv[1:] if not a.startswith("--")), os.path.join(root, "build"))
quick = "--quick" in sys.argv
fcl = os.path.join(build, "app", "fcl")
work = tempfile.mkdtemp()
db = os.path.join(work, "fcit.sqlite")

METRICS = {"Last": "Final average accuracy (ACC, Last)", "Avg": "Average incremental accuracy (Avg)",
           "MFT": "Mean right after learning (MFT)", "F": "Average forgetting (F)"}


def fedavg(d):
    for key in ("slots", "tau", "epsilon", "activation", "variant", "singleton_share", "identity",
                "encoder", "upload"):
        d["federated"].pop(key, None)
    d["federated"]["method"] = "fedavg"


def variant(name, edit, seeds):
    return (name, edit, seeds)


MAIN = [9, 10, 11] if not quick else [9]
ONE = [9]
BASELINES = [
    variant("FedAvg + finetune", fedavg, MAIN),
    variant("FedAvg + EWC", lambda d: (fedavg(d), d["continual"].update(method="ewc")), ONE),
    variant("FedAvg + LwF", lambda d: (fedavg(d), d["continual"].update(method="lwf")), ONE),
    variant("FedAvg + replay", lambda d: (fedavg(d), d["continual"].update(method="replay")), ONE),
    variant("DISCO (preset: tau 0.8)", lambda d: None, MAIN),
    variant("DISCO, tau 0.9", lambda d: d["federated"].update(tau=0.9), ONE),
    variant("DISCO, singleton_share 0.05",
            lambda d: d["federated"].update(singleton_share=0.05), ONE),
]
ABLATIONS = [
    variant("DISCO, activation concat", lambda d: d["federated"].update(activation="concat"), ONE),
    variant("DISCO, activation cosine", lambda d: d["federated"].update(activation="cosine"), ONE),
    variant("DISCO, activation argmax", lambda d: d["federated"].update(activation="argmax"), ONE),
]

IDENTITY = [
    variant("DISCO, identity image", lambda d: d["federated"].update(identity="image"), ONE),
    variant("DISCO, identity both", lambda d: d["federated"].update(identity="both"), ONE),
    variant("DISCO, encoder mean_embedding",
            lambda d: d["federated"].update(encoder="mean_embedding"), ONE),
    variant("DISCO, variant faithful", lambda d: d["federated"].update(variant="faithful"), ONE),
]


def centralized(d):
    fedavg(d)
    d["fcit"]["setting"] = "centralized"
    d["fcit"].pop("het_lists", None)


def heterogeneous(d):
    d["fcit"]["setting"] = "heterogeneous"


TABLES = [
    ("fcit-hom", BASELINES + [variant("centralized upper bound (FedAvg, one client)", centralized,
                                      ONE)] + IDENTITY),
    ("fcit-het", BASELINES + ABLATIONS),
    ("fcit-cap", [variant("FedAvg + finetune", fedavg, ONE),
                  variant("DISCO (preset)", lambda d: None, ONE),
                  variant("heterogeneous: FedAvg + finetune",
                          lambda d: (fedavg(d), heterogeneous(d)), ONE),
                  variant("heterogeneous: DISCO", heterogeneous, ONE)]),
]
if len(sys.argv) > 1 and any(a.startswith("--only=") for a in sys.argv):
    only = next(a for a in sys.argv if a.startswith("--only=")).split("=", 1)[1]
    TABLES = [t for t in TABLES if t[0] == only]
if any(a.startswith("--match=") for a in sys.argv):
    pattern = re.compile(next(a for a in sys.argv if a.startswith("--match=")).split("=", 1)[1])
    TABLES = [(p, [v for v in vs if pattern.search(v[0])]) for p, vs in TABLES]


def run(preset, edit, seed):
    with open(os.path.join(root, "resources", "presets", preset + ".json")) as f:
        d = json.load(f)
    edit(d)
    d["seed"] = seed
    path = os.path.join(work, "exp.json")
    with open(path, "w") as f:
        json.dump(d, f)
    start = time.time()
    out = subprocess.run([fcl, "run", path, "--db", db, "--quiet"], capture_output=True,
                         text=True, check=True).stdout
    seconds = time.time() - start
    values = {}
    for key, label in METRICS.items():
        line = next(l for l in out.splitlines() if l.startswith(label))
        values[key] = float(line.split()[-1])
    values["s"] = seconds
    return values


print(f"machine: {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}")
for preset, variants in TABLES:
    print(f"\n{preset}\n\n| variant | seeds | Last | Avg | MFT | F | s/run |\n|---|---|---|---|---|---|---|")
    for name, edit, seeds in variants:
        rows = [run(preset, edit, s) for s in seeds]
        mean = {k: sum(r[k] for r in rows) / len(rows) for k in rows[0]}
        spread = {k: (min(r[k] for r in rows), max(r[k] for r in rows)) for k in rows[0]}
        cell = (lambda k: f"{mean[k]:.3f}" if len(rows) == 1
                else f"{mean[k]:.3f} ({spread[k][0]:.2f}-{spread[k][1]:.2f})")
        print(f"| {name} | {len(seeds)} | {cell('Last')} | {cell('Avg')} | {cell('MFT')} | "
              f"{cell('F')} | {mean['s']:.0f} |", flush=True)
