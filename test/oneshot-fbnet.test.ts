import { test } from "node:test";
import assert from "node:assert/strict";
import { engineAvailable } from "../src/engine/native.js";
import { FbnetDnasSearcher, fbnetDnasOptions } from "../src/oneshot/fbnet-dnas.js";
import type { SearcherJob } from "../src/core/searcher.js";
import type { Metrics } from "../src/core/evaluator.js";
import { FBNET_LAYERS, FBNET_OPS, fbnetLayerCosts, loadFbnetLut } from "../src/benchmarks/hwnas.js";

const skip = engineAvailable() || process.env.ARCHSEARCH_REQUIRE_ENGINE === "1" ? false : "libtorch binding not built";

/** FBNet DNAS at a tiny size (64 MNIST digits, width 0.1): the epochs' reports and the derived architecture. */
async function search(latencyBeta: number) {
  const reports: Metrics[] = [];
  const job: SearcherJob = {
    seed: 2,
    signal: new AbortController().signal,
    report: async (_step, m) => void reports.push(m),
    checkpoint: async () => undefined,
    saveArtifact: async () => undefined,
  };
  const o = fbnetDnasOptions.parse({ dataset: "mnist", max_train: 64, arch_fraction: 0.5, width: 0.1, epochs: 3, warmup_epochs: 0, batch_size: 32, arch_lr: 0.05, latency_beta: latencyBeta });
  const [derived] = (await new FbnetDnasSearcher(o).search(job)) as number[][];
  return { reports, derived };
}

test("FBNet DNAS: the LUT's per-layer costs, a derived architecture of the space, and the latency weight lowers the expected latency", { skip, timeout: 300_000 }, async () => {
  const costs = fbnetLayerCosts(loadFbnetLut(), "cifar100", "latency_ms_pixel3");
  assert.equal(costs.length, FBNET_LAYERS);
  assert.ok(costs.every((row) => row.length === FBNET_OPS.length && row.every((c) => c >= 0)));
  assert.throws(() => fbnetLayerCosts(loadFbnetLut(), "cifar100", "latency_ms_nowhere"), /unknown HW-NAS-Bench metric "latency_ms_nowhere"/);
  const plain = await search(0);
  const aware = await search(5);
  assert.equal(plain.reports.length, 3);
  assert.ok(aware.derived.length === FBNET_LAYERS && aware.derived.every((op) => Number.isInteger(op) && op >= 0 && op < FBNET_OPS.length));
  const last = (r: Metrics[]) => r[r.length - 1].expected_latency;
  assert.ok(last(aware.reports) < last(plain.reports), `with the latency term the expected latency falls further: ${last(aware.reports)} vs ${last(plain.reports)}`);
  assert.ok(last(aware.reports) < aware.reports[0].expected_latency + 1e-9, "and it falls over the epochs");
});
