"""Optuna peer of `npm run bench -- multi-objective`: Optuna 3.1's NSGAIISampler on the NAS-Bench-201 table.

For each device and seed, a study with directions (maximize validation accuracy, minimize latency on
the device), NSGAIISampler(seed=seed) with its defaults (population 50, crossover uniform), over the
6 cell edges as categorical choices of the 5 operations; a trial's values come from the table.
Every trial counts as an evaluation, a repeated architecture included. Prints one JSON line per
(device, seed): {"device", "seed", "rows": [NB201 row index of each trial's architecture]}; the
Node bench computes the hypervolume exactly as for its own strategies.

    /usr/bin/python3 bench/peers/optuna_mo.py RESULTS_CSV_GZ LATENCY_CSV_GZ VALID_COL EVALS SEEDS DEVICE[,DEVICE...]
"""
import csv
import gzip
import io
import json
import sys

import optuna

OPS = ["none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"]
EDGES = ["0->1", "0->2", "1->2", "0->3", "1->3", "2->3"]


def arch_string(ops):
    return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)


def read(path):
    with gzip.open(path, "rb") as f:
        return list(csv.DictReader(io.TextIOWrapper(f, encoding="utf-8")))


def main():
    results, latency, valid_col = sys.argv[1], sys.argv[2], sys.argv[3]
    evals, seeds, devices = int(sys.argv[4]), int(sys.argv[5]), sys.argv[6].split(",")
    rows = read(results)
    index = {row["arch_str"]: int(row["index"]) for row in rows}
    valid = {int(row["index"]): float(row[valid_col]) for row in rows}
    lat = {d: {} for d in devices}
    for row in read(latency):
        for d in devices:
            lat[d][int(row["index"])] = float(row["lat_ms_" + d])
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    for d in devices:
        for seed in range(seeds):
            sampler = optuna.samplers.NSGAIISampler(seed=seed)
            study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
            seen = []

            def objective(trial):
                ops = [trial.suggest_categorical(e, OPS) for e in EDGES]
                i = index[arch_string(ops)]
                seen.append(i)
                return valid[i], lat[d][i]

            study.optimize(objective, n_trials=evals)
            print(json.dumps({"device": d, "seed": seed, "rows": seen}), flush=True)


if __name__ == "__main__":
    main()
