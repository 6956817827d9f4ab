"""Optuna peer of `npm run bench -- search --strategies ...`: Optuna 3.1's TPE on the NAS-Bench-201 table.

Same protocol as archsearch's search bench: for each seed, a study (TPESampler(seed=seed),
defaults otherwise) over the 6 cell edges, each a categorical choice of the 5 operations; a trial's
value is the architecture's validation accuracy from the table; after every trial the test
accuracy of the best-by-validation architecture so far (the first to reach the best, as ours) is
recorded. Every trial counts as a query, a repeated architecture included. Prints one JSON line:
{"optuna": version, "curves": [[best test after query 1..Q] per seed], "ms_per_trial": sampler + study time}.

    /usr/bin/python3 bench/peers/optuna_search.py RESULTS_CSV_GZ VALID_COL TEST_COL QUERIES SEEDS [SAMPLER]
"""
import csv
import gzip
import io
import json
import sys
import time

import optuna

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
EDGES = ["0->1", "0->2", "1->2", "0->3", "1->3", "2->3"]


def arch_string(ops):
    return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)


def load(path, valid_col, test_col):
    with gzip.open(path, "rb") as f:
        reader = csv.DictReader(io.TextIOWrapper(f, encoding="utf-8"))
        table = {}
        for row in reader:
            table[row["arch_str"]] = (float(row[valid_col]), float(row[test_col]))
    return table


def main():
    path, valid_col, test_col = sys.argv[1], sys.argv[2], sys.argv[3]
    queries, seeds = int(sys.argv[4]), int(sys.argv[5])
    sampler_kind = sys.argv[6] if len(sys.argv) > 6 else "tpe"
    table = load(path, valid_col, test_col)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    curves = []
    spent = 0.0
    for seed in range(seeds):
        if sampler_kind == "tpe":
            sampler = optuna.samplers.TPESampler(seed=seed)
        else:
            sampler = optuna.samplers.RandomSampler(seed=seed)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        best_valid = float("-inf")
        best_test = float("nan")
        curve = []
        for _ in range(queries):
            t0 = time.perf_counter()
            trial = study.ask()
            ops = [trial.suggest_categorical(e, OPS) for e in EDGES]
            spent += time.perf_counter() - t0
            valid, test = table[arch_string(ops)]
            t0 = time.perf_counter()
            study.tell(trial, valid)
            spent += time.perf_counter() - t0
            if valid > best_valid:
                best_valid, best_test = valid, test
            curve.append(best_test)
        curves.append(curve)
    print(json.dumps({"optuna": optuna.__version__, "sampler": sampler_kind, "curves": curves, "ms_per_trial": 1000 * spent / (queries * seeds)}))


if __name__ == "__main__":
    main()
