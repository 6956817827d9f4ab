"""Optuna peer of `npm run bench -- overhead`: ask + tell time per trial after N finished trials.

Reads a JSON job written by bench/overhead.ts (the NB201 operations, the prefill trials as
operation indices with their scores, every architecture's score, the checkpoints and the window),
prefills an in-memory study with create_trial / add_trials up to each checkpoint less `warmup`,
runs `warmup` untimed rounds of ask + tell (as the TypeScript side does), then times `window` rounds of study.ask() + 6 suggest_categorical + study.tell(). Prints one JSON line.

    /usr/bin/python3 bench/peers/optuna_overhead.py JOB.json tpe|random
"""
import json
import sys
import time

import optuna


def arch_string(ops):
    return "|{}~0|+|{}~0|{}~1|+|{}~0|{}~1|{}~2|".format(*ops)


def main():
    job = json.load(open(sys.argv[1]))
    kind = sys.argv[2]
    ops = job["ops"]
    names = job["dims"]
    score = job["scores_by_arch"]
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if kind == "tpe":
        sampler = optuna.samplers.TPESampler(seed=job["seed"])
    elif kind == "random":
        sampler = optuna.samplers.RandomSampler(seed=job["seed"])
    else:
        raise SystemExit("sampler must be tpe or random")
    study = optuna.create_study(direction="maximize", sampler=sampler)
    dist = {n: optuna.distributions.CategoricalDistribution(ops) for n in names}
    prefill = job["prefill"]
    prefill_scores = job["prefill_scores"]
    done = 0
    used = 0
    out = {}
    deadline_s = job.get("max_seconds", 600)
    started = time.perf_counter()
    for checkpoint in job["checkpoints"]:
        warmup = job.get("warmup", 0)
        need = max(0, checkpoint - warmup - done)
        batch = []
        for k in range(need):
            idx = prefill[used + k]
            batch.append(
                optuna.trial.create_trial(
                    params={n: ops[i] for n, i in zip(names, idx)},
                    distributions=dist,
                    value=prefill_scores[used + k],
                )
            )
        study.add_trials(batch)
        used += need
        done += need
        while done < checkpoint:  # untimed rounds, as for archsearch's strategies
            trial = study.ask()
            chosen = [trial.suggest_categorical(n, ops) for n in names]
            study.tell(trial, score[arch_string(chosen)])
            done += 1
        t0 = time.perf_counter()
        rounds = 0
        for _ in range(job["window"]):
            trial = study.ask()
            chosen = [trial.suggest_categorical(n, ops) for n in names]
            study.tell(trial, score[arch_string(chosen)])
            rounds += 1
            if time.perf_counter() - started > deadline_s:
                break
        elapsed = time.perf_counter() - t0
        done += rounds
        out[str(checkpoint)] = {"ms_per_trial": 1000 * elapsed / rounds, "rounds": rounds}
        if time.perf_counter() - started > deadline_s:
            break
    print(json.dumps({"sampler": kind, "optuna": optuna.__version__, "results": out}))


if __name__ == "__main__":
    main()
