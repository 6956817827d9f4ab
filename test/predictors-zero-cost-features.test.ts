import { test } from "node:test";
import assert from "node:assert/strict";
import type { Json } from "../src/core/json.js";
import { UserError } from "../src/core/errors.js";
import { zeroCostFeatures } from "../src/predictors/features.js";
import { native } from "../src/engine/native.js";

function engineAvailable(): boolean {
  try {
    native();
    return true;
  } catch {
    return false;
  }
}

test("zero-cost proxies of the tensor engine as predictor features: finite, memoised, deterministic", async (t) => {
  if (!engineAvailable()) return t.skip("libtorch not installed");
  const { manualSeed, randn, randint } = await import("../src/engine/tensor.js");
  const { Nb201Network } = await import("../src/models/nb201.js");
  manualSeed(0);
  const batch = { x: randn([8, 3, 8, 8]).keep(), y: randint(0, 10, [8]).keep() };
  let built = 0;
  const build = (p: Json) => {
    built++;
    return new Nb201Network(p as string, { channels: 4, cellsPerStage: 1, classes: 10 });
  };
  const provider = await zeroCostFeatures({ build, batch, proxies: ["naswot", "synflow", "params"], seed: 3 });
  assert.deepEqual(provider.names, ["zc_naswot", "zc_synflow", "zc_params"]);
  const conv = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|";
  const pool = "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|skip_connect~0|avg_pool_3x3~1|avg_pool_3x3~2|";
  const a = provider.features(conv);
  assert.equal(a.length, 3);
  assert.ok(a.every((v) => Number.isFinite(v)), String(a));
  assert.deepEqual(provider.features(conv), a);
  assert.equal(built, 1, "memoised");
  const b = provider.features(pool);
  assert.ok(a[2] > b[2], "the conv cell has more parameters than the pooling cell");
  // a second provider with the same seed gives the same scores
  const again = await zeroCostFeatures({ build, batch, proxies: ["naswot", "synflow", "params"], seed: 3 });
  assert.deepEqual(again.features(conv), a);
  await assert.rejects(zeroCostFeatures({ build, batch, proxies: ["nope"] }), UserError);
  batch.x.dispose();
  batch.y.dispose();
});
