import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { engineAvailable } from "../src/engine/native.js";
import { exportPytorch } from "../src/export/pytorch.js";

// The peer is Debian's PyTorch (python3-torch) under /usr/bin/python3; CI installs it, so there
// (ARCHSEARCH_REQUIRE_ENGINE=1) these tests fail rather than skip when it is missing.
const PY = "/usr/bin/python3";
const required = process.env.ARCHSEARCH_REQUIRE_ENGINE === "1";
const hasTorch = existsSync(PY) && (() => {
  try {
    execFileSync(PY, ["-c", "import torch"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();
const skip = (!hasTorch || !engineAvailable()) && !required ? "needs /usr/bin/python3 with torch and the libtorch binding" : false;

const ARCHS = [
  "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
  "|none~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|",
  "|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|skip_connect~2|",
];

test("the exported PyTorch module has archsearch's parameters and computes the same outputs", { skip }, async () => {
  const E = await import("../src/engine/index.js");
  const { Nb201Network } = await import("../src/models/nb201.js");
  const dir = mkdtempSync(join(tmpdir(), "archsearch-pt-"));
  E.manualSeed(3);
  for (const [k, arch] of ARCHS.entries()) {
    const opts = { channels: 8, cellsPerStage: 2, classes: 10, inputChannels: 1 };
    const net = new Nb201Network(arch, opts);
    // Non-trivial batch-norm statistics, so eval-mode normalisation is really compared.
    E.noGrad(() => {
      for (const [name, t] of net.stateDict()) {
        if (name.endsWith("running_mean")) t.copy(E.randn(t.shape).mul(0.1));
        if (name.endsWith("running_var")) t.copy(E.rand(t.shape).add(0.5));
      }
    });
    net.eval();
    const x = E.randn([4, 1, 28, 28]);
    const y = E.noGrad(() => net.forward(x));
    const weights = join(dir, `w${k}.bin`);
    const io = join(dir, `io${k}.bin`);
    E.saveModule(weights, net);
    E.saveTensors(io, new Map([["x", x], ["y", y]]));
    const file = join(dir, `net${k}.py`);
    writeFileSync(file, exportPytorch(arch, { channels: 8, cellsPerStage: 2, classes: 10, inputChannels: 1 }));
    const check = `
import importlib.util, json, sys, torch
spec = importlib.util.spec_from_file_location("exported", ${JSON.stringify(file)})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
net = m.load_archsearch_weights(m.build(), ${JSON.stringify(weights)}).eval()
io = m.read_archsearch_tensors(${JSON.stringify(io)})
with torch.no_grad():
    out = net(io["x"])
print(json.dumps({"params": sum(p.numel() for p in net.parameters()), "maxdiff": (out - io["y"]).abs().max().item(), "scale": io["y"].abs().max().item()}))
`;
    const r = JSON.parse(execFileSync(PY, ["-c", check], { encoding: "utf8" }).trim().split("\n").pop()!);
    assert.equal(r.params, net.parameterCount(), `parameter count of ${arch}`);
    assert.ok(r.scale > 0.01, "outputs are not trivially zero");
    assert.ok(r.maxdiff < 1e-4, `${arch}: max |torch - archsearch| = ${r.maxdiff}`);
    net.dispose();
  }
});

test("the exported file runs as a script and needs nothing but torch", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "archsearch-pt-"));
  const file = join(dir, "model.py");
  writeFileSync(file, exportPytorch(ARCHS[0]));
  const out = execFileSync(PY, [file], { encoding: "utf8", cwd: dir });
  // Full-size NB201 network on CIFAR-10: the table's calc_params_mb for this cell is not needed; the
  // count just has to be the one archsearch builds (checked above at small size).
  assert.match(out, /^\|nor_conv_3x3~0\|.* \d+ parameters\n$/);
});

test("export refuses what it cannot build", () => {
  assert.throws(() => exportPytorch("|bogus~0|"), /needs a NAS-Bench-201 architecture string/);
  assert.throws(() => exportPytorch(ARCHS[0], { model: "resnet" as never }), /no PyTorch exporter for model "resnet"/);
});

test("the Python example trains exported networks through the command evaluator; export writes JSON and PyTorch code", { skip, timeout: 600_000 }, async () => {
  const { cli, ROOT } = await import("./cli-util.js");
  const dir = mkdtempSync(join(tmpdir(), "archsearch-pyex-"));
  const db = join(dir, "x.db");
  // The example as it is, but with fewer training images and run from a copy (the CI machine has 2 cores).
  const example = join(ROOT, "examples/pytorch-command");
  const config = readFileSync(join(example, "nb201-pytorch-mnist.yaml"), "utf8")
    .replace('MAX_TRAIN: "2000"', 'MAX_TRAIN: "600"')
    .replace("  name: command\n", `  name: command\n  cwd: ${JSON.stringify(example)}\n  log_dir: ${JSON.stringify(join(dir, "logs"))}\n`);
  assert.ok(config.includes(`MAX_TRAIN: "600"`) && config.includes("  cwd: "), config);
  writeFileSync(join(dir, "ex.yaml"), config);
  const r = cli(["run", join(dir, "ex.yaml"), "--storage", db, "--trials", "2", "--json", "--quiet"]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.equal(out.trials, 2);
  assert.equal(out.failed, 0);
  // 600 images for 2 epochs: too short for good accuracy, but the loss must fall below chance (ln 10 = 2.30).
  assert.ok(out.best.metrics.train_loss < 2.2 && out.best.metrics.valid_acc >= 0 && out.best.hidden_metrics.test_acc >= 0, JSON.stringify(out.best));
  assert.ok(out.best.metrics.params_m > 0.01);
  const j = cli(["export", "nb201-pytorch-mnist", "--storage", db]);
  assert.equal(j.code, 0, j.stderr);
  const exported = JSON.parse(j.stdout);
  assert.equal(exported.arch, out.best.arch);
  assert.deepEqual(exported.hp, out.best.hp);
  const file = join(dir, "best.py");
  const p = cli(["export", "nb201-pytorch-mnist", "--storage", db, "--format", "pytorch", "--channels", "8", "--cells", "1", "--input-channels", "1", "--out", file]);
  assert.equal(p.code, 0, p.stderr);
  const params = execFileSync(PY, [file], { encoding: "utf8" });
  assert.equal(Number(/ (\d+) parameters/.exec(params)![1]) / 1e6, out.best.metrics.params_m);
  const bad = cli(["export", "nb201-pytorch-mnist", "--storage", db, "--trial", "7"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /has no trial 7/);
});
