/**
 * Speed of the strategies themselves: ask + tell time per trial after 1,000 and 10,000 finished
 * trials, on the NAS-Bench-201 space (6 categorical decisions), for every registered strategy and
 * for Optuna 3.1's TPE and random samplers (in-memory study, via /usr/bin/python3).
 *
 * Protocol, the same for both: the history is prefilled to N finished trials with the same seeded
 * uniform random architectures and their CIFAR-10 validation accuracy (tell without ask here,
 * `study.add_trials(create_trial(...))` there) to N - `--warmup`, then `--warmup` untimed rounds
 * of one ask and one tell reach N (so that a JIT has compiled the ask path), then a window of
 * `--window` such rounds (the answer looked up in the table) is timed. Ours get `ctx.seen` over the whole
 * history (as the experiment loop gives it), so a strategy that avoids repeats pays for it.
 *
 *   npm run bench -- overhead [--trials 1000,10000] [--window 100] [--strategies all|a,b] [--no-optuna] [--max-seconds 120] [--no-seen] [--warmup 20]
 *
 * NB201 has 8,765 distinct cells up to equivalence, so after 10,000 trials most are tried: a
 * strategy that avoids repeats spends part of its time looking for an untried one. `--no-seen`
 * measures without that (seen() always false).
 *
 * State written per completion: the experiment stores the strategy's `state()` at every
 * completion, so the bench also reports the size in bytes of that JSON around N finished trials
 * (the largest over the `--warmup` rounds that reach N, before the timed window). A bounded state
 * stays about the same from 1,000 to 10,000 trials (the target: at most 2x); one that grows with N
 * makes a search write O(N^2) bytes. Strategies whose model is every result (TPE, BANANAS,
 * ParEGO, BOHB) keep the results out of the state: the store gives them back on restore.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { performance } from "node:perf_hooks";
import type { Json } from "../src/core/json.js";
import { Objectives } from "../src/core/objectives.js";
import { Rng } from "../src/core/rng.js";
import { pointHash } from "../src/core/space.js";
import { Nb201Space } from "../src/spaces/nb201.js";
import { archString, loadNb201, NB201_COLUMNS, NB201_EDGES, NB201_OPS } from "../src/benchmarks/nb201.js";
import { registry } from "../src/registry.js";
import { benchArgs, intList } from "./args.js";
import { peerPython, peerScript, requirePeer } from "./peers.js";

export interface OverheadRow {
  name: string;
  /** ms per ask + tell by checkpoint; undefined where not measured. */
  ms: Record<number, number | undefined>;
  /** Bytes of the strategy's state JSON by checkpoint (ours only). */
  stateBytes: Record<number, number | undefined>;
  note?: string;
}

export async function overheadBench(argv: string[]) {
  const { values } = benchArgs(argv, {
    trials: { type: "string", default: "1000,10000" },
    window: { type: "string", default: "100" },
    strategies: { type: "string", default: "all" },
    "no-optuna": { type: "boolean", default: false },
    "max-seconds": { type: "string", default: "120" },
    seed: { type: "string", default: "0" },
    "no-seen": { type: "boolean", default: false },
    warmup: { type: "string", default: "20" },
  });
  // Before anything is measured: Optuna imports, or --no-optuna leaves it out, or the bench stops here.
  const optuna = requirePeer("optuna", values, "overhead");
  const warmup = Number(values.warmup);
  if (!Number.isInteger(warmup) || warmup < 0) throw new Error(`--warmup must be an integer >= 0, got ${values.warmup}`);
  const checkpoints = intList(String(values.trials)).sort((a, b) => a - b);
  const window = intList(String(values.window))[0];
  const maxSeconds = Number(values["max-seconds"]);
  const seed = Number(values.seed);
  // "all": the ask / tell strategies (searchers train a supernet once; they have no per-trial ask cost to measure).
  const names = values.strategies === "all" ? Object.keys(registry.strategies).filter((n) => !registry.strategies[n].requires.includes("supernet")) : String(values.strategies).split(",").map((s) => s.trim());
  for (const n of names) if (!registry.strategies[n]) throw new Error(`unknown strategy ${n}; known: ${Object.keys(registry.strategies).join(", ")}`);

  const table = loadNb201();
  const valid = table.column(NB201_COLUMNS.cifar10.valid);
  const space = new Nb201Space();
  const objectives = new Objectives([{ metric: "valid_acc", direction: "max" }]);
  const last = checkpoints[checkpoints.length - 1];
  // The shared prefill: uniform random cells (op indices) and their scores.
  const rng = new Rng(seed);
  const prefill = Array.from({ length: last }, () => NB201_EDGES.map(() => rng.int(NB201_OPS.length)));
  const prefillPoints = prefill.map((ops) => archString(ops.map((i) => NB201_OPS[i])));
  const scoreOf = (p: string) => valid[table.indexOf.get(p)!];
  const prefillHashes = prefillPoints.map((p) => pointHash(space, p));

  const rows: OverheadRow[] = [];
  for (const name of names) {
    const row: OverheadRow = { name, ms: {}, stateBytes: {} };
    rows.push(row);
    const started = performance.now();
    const overTime = () => (performance.now() - started) / 1000 > maxSeconds;
    try {
      const component = registry.strategies[name];
      const strategy = component.create(component.options.parse({}), { space, objectives, seed });
      const seen = new Set<string>();
      // --no-seen: nothing counts as tried, so the model's own cost shows without the search for unseen points.
      const ctx = { pending: [] as Json[], seen: (p: Json) => !values["no-seen"] && seen.has(pointHash(space, p)) };
      let told = 0;
      let used = 0;
      for (const c of checkpoints) {
        while (told < c - warmup) {
          const p = prefillPoints[used];
          seen.add(prefillHashes[used]);
          await strategy.tell({ number: told, point: p, status: "finished", metrics: { valid_acc: scoreOf(p) }, score: scoreOf(p) });
          used++;
          told++;
          if (told % 500 === 0 && overTime()) break;
        }
        if (told < c - warmup) {
          row.note = `prefill to ${c} passed --max-seconds ${maxSeconds} (at ${told} trials)`;
          break;
        }
        // Untimed ask + tell rounds up to N (the JIT compiles the ask path here, not in the window).
        // The state written per completion is measured in these rounds: its largest size over
        // them, since a bounded state still breathes with the strategy's phase (a local search's
        // queue of neighbours fills and empties).
        let largest = 0;
        while (told < c) {
          const [p] = (await strategy.ask(1, ctx)) as Json[];
          if (p === undefined) break;
          seen.add(pointHash(space, p));
          strategy.tell({ number: told, point: p, status: "finished", metrics: { valid_acc: scoreOf(p as string) }, score: scoreOf(p as string) });
          told++;
          largest = Math.max(largest, Buffer.byteLength(JSON.stringify(strategy.state())));
        }
        if (told === c) row.stateBytes[c] = Math.max(largest, Buffer.byteLength(JSON.stringify(strategy.state())));
        let rounds = 0;
        const t0 = performance.now();
        for (let r = 0; r < window; r++) {
          const [p] = (await strategy.ask(1, ctx)) as Json[];
          if (p === undefined) {
            row.note = "no suggestion (space exhausted for it)";
            break;
          }
          seen.add(pointHash(space, p));
          strategy.tell({ number: told, point: p, status: "finished", metrics: { valid_acc: scoreOf(p as string) }, score: scoreOf(p as string) });
          told++;
          rounds++;
          if (overTime()) break;
        }
        if (rounds > 0) row.ms[c] = (performance.now() - t0) / rounds;
        if (rounds < window) {
          row.note ??= `window cut at ${rounds} rounds by --max-seconds ${maxSeconds}`;
          break;
        }
      }
    } catch (e) {
      row.note = `unavailable: ${(e as Error).message.split("\n")[0]}`;
    }
    console.error(`  ${name}: ${checkpoints.map((c) => (row.ms[c] === undefined ? "-" : row.ms[c]!.toFixed(3))).join(" / ")} ms${row.note ? ` (${row.note})` : ""}`);
  }

  if (!optuna.use) {
    for (const kind of ["tpe", "random"]) rows.push({ name: `optuna_${kind}`, ms: {}, stateBytes: {}, note: optuna.note });
  } else {
    const dir = mkdtempSync(join(tmpdir(), "archsearch-overhead-"));
    try {
      const job = join(dir, "job.json");
      writeFileSync(
        job,
        JSON.stringify({
          ops: NB201_OPS,
          dims: NB201_EDGES.map(([s, t]) => `${s}->${t}`),
          prefill,
          prefill_scores: prefillPoints.map(scoreOf),
          scores_by_arch: Object.fromEntries(table.archStrings.map((a, i) => [a, valid[i]])),
          checkpoints,
          window,
          warmup,
          seed,
          max_seconds: maxSeconds * 5,
        }),
      );
      for (const kind of ["tpe", "random"]) {
        const row: OverheadRow = { name: `optuna_${kind}`, ms: {}, stateBytes: {} };
        rows.push(row);
        try {
          const out = execFileSync(peerPython(), [peerScript("optuna_overhead.py"), job, kind], { encoding: "utf8", maxBuffer: 1 << 26, stdio: ["ignore", "pipe", "pipe"] });
          const res = JSON.parse(out.trim().split("\n").pop()!) as { optuna: string; results: Record<string, { ms_per_trial: number; rounds: number }> };
          for (const c of checkpoints) {
            const r = res.results[String(c)];
            if (r) row.ms[c] = r.ms_per_trial;
            if (r && r.rounds < window) row.note = `window cut at ${r.rounds} rounds`;
          }
          row.note = [`optuna ${res.optuna}`, row.note].filter(Boolean).join("; ");
        } catch (e) {
          row.note = `unavailable: ${(e as Error).message.split("\n")[0]}`;
        }
        console.error(`  ${row.name}: ${checkpoints.map((c) => (row.ms[c] === undefined ? "-" : row.ms[c]!.toFixed(3))).join(" / ")} ms${row.note ? ` (${row.note})` : ""}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  const ref = rows.find((r) => r.name === "optuna_tpe");
  console.log(`ask + tell time per trial (ms) on NAS-Bench-201 (6 categorical decisions), window of ${window} after N finished trials`);
  const header = ["strategy", ...checkpoints.map((c) => `N=${c}`), ...checkpoints.map((c) => `optuna_tpe/it @${c}`), `growth ${checkpoints[0]}->${last}`, "note"];
  const widths = [22, ...checkpoints.map(() => 12), ...checkpoints.map(() => 23), 20, 0];
  console.log(header.map((h, i) => h.padEnd(widths[i])).join(""));
  for (const r of rows) {
    const cells = [
      r.name,
      ...checkpoints.map((c) => (r.ms[c] === undefined ? "-" : r.ms[c]!.toFixed(3))),
      ...checkpoints.map((c) => (r.ms[c] === undefined || ref?.ms[c] === undefined ? "-" : `${(ref.ms[c]! / r.ms[c]!).toFixed(1)}x`)),
      r.ms[checkpoints[0]] !== undefined && r.ms[last] !== undefined ? `${(r.ms[last]! / r.ms[checkpoints[0]]!).toFixed(2)}x` : "-",
      r.note ?? "",
    ];
    console.log(cells.map((h, i) => h.padEnd(widths[i])).join(""));
  }
  const ours = rows.filter((r) => Object.keys(r.stateBytes).length > 0);
  console.log(`\nbytes of strategy state written per completion (its state() JSON) after N finished trials`);
  const sHeader = ["strategy", ...checkpoints.map((c) => `N=${c}`), `growth ${checkpoints[0]}->${last}`, "within 2x"];
  const sWidths = [22, ...checkpoints.map(() => 12), 20, 0];
  console.log(sHeader.map((h, i) => h.padEnd(sWidths[i])).join(""));
  for (const r of ours) {
    const first = r.stateBytes[checkpoints[0]];
    const end = r.stateBytes[last];
    const growth = first !== undefined && end !== undefined ? end / first : undefined;
    const cells = [r.name, ...checkpoints.map((c) => (r.stateBytes[c] === undefined ? "-" : String(r.stateBytes[c]))), growth === undefined ? "-" : `${growth.toFixed(2)}x`, growth === undefined ? "-" : growth <= 2 ? "yes" : "NO"];
    console.log(cells.map((h, i) => h.padEnd(sWidths[i])).join(""));
  }
  const pick = (c: number) => Object.fromEntries(rows.filter((r) => r.ms[c] !== undefined).map((r) => [r.name, Number(r.ms[c]!.toFixed(4))]));
  const stateBytes = Object.fromEntries(ours.map((r) => [r.name, Object.fromEntries(checkpoints.filter((c) => r.stateBytes[c] !== undefined).map((c) => [String(c), r.stateBytes[c]!]))]));
  const extra = checkpoints.filter((c) => c !== last);
  console.log(
    JSON.stringify({
      trials: last,
      ms_per_trial: pick(last),
      ...Object.fromEntries(extra.map((c) => [`ms_per_trial_at_${c}`, pick(c)])),
      state_bytes_per_completion: stateBytes,
      window,
    }),
  );
}
