"""Optuna peer of `npm run bench -- search --benchmark ...` for any table given as decisions.

Same protocol as archsearch's search bench: for each seed, a study (TPESampler(seed=seed),
defaults otherwise) whose trial suggests each decision as a categorical (a decision whose
`inactiveIf` condition holds is not suggested, as in a define-by-run conditional space); a
trial's value is the validation value from the table, maximised or minimised; after every trial
the test value of the best-by-validation point so far (the first to reach the best) is recorded.
Every trial counts as a query, repeats included. Prints one JSON line:
{"optuna": version, "curves": [[best test after query 1..Q] per seed], "ms_per_trial": sampler + study time}.

    /usr/bin/python3 bench/peers/optuna_table.py TABLE_JSON QUERIES SEEDS DIRECTION

TABLE_JSON: {"dims": [{"name", "choices", "inactiveIf"?: {"dim", "equals"}}], "values": {"v1|v2|...": [valid, test]}}
(values joined by "|", "null" for an inactive decision).
"""
import json
import sys
import time

import optuna


def main():
    path, queries, seeds, direction = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    with open(path) as f:
        spec = json.load(f)
    dims, values = spec["dims"], spec["values"]
    better = (lambda a, b: a > b) if direction == "max" else (lambda a, b: a < b)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    curves = []
    spent = 0.0
    for seed in range(seeds):
        study = optuna.create_study(direction="maximize" if direction == "max" else "minimize", sampler=optuna.samplers.TPESampler(seed=seed))
        best_valid, best_test = None, float("nan")
        curve = []
        for _ in range(queries):
            t0 = time.perf_counter()
            trial = study.ask()
            chosen = []
            for d in dims:
                cond = d.get("inactiveIf")
                if cond is not None and chosen[cond["dim"]] == cond["equals"]:
                    chosen.append(None)
                else:
                    chosen.append(trial.suggest_categorical(d["name"], d["choices"]))
            spent += time.perf_counter() - t0
            valid, test = values["|".join("null" if v is None else str(v) for v in chosen)]
            t0 = time.perf_counter()
            study.tell(trial, valid)
            spent += time.perf_counter() - t0
            if best_valid is None or better(valid, best_valid):
                best_valid, best_test = valid, test
            curve.append(best_test)
        curves.append(curve)
    print(json.dumps({"optuna": optuna.__version__, "curves": curves, "ms_per_trial": 1000 * spent / (queries * seeds)}))


if __name__ == "__main__":
    main()
