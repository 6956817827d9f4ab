// A stand-in evaluation function for examples/joint-nas-hpo.yaml: a made-up smooth score of the
// architecture and hyperparameters, so the example runs in a second. It shows the contract: the
// function gets the trial (arch, hp, fidelity, seed) and returns metrics; it may report
// intermediate steps with ctx.report(step, metrics). Replace it with real training.
export default async function evaluate(trial, ctx) {
  const { arch, hp } = trial;
  let capacity = Math.log2(arch.stem);
  for (const b of arch.blocks) {
    if (b.kind === "conv") capacity += 1 + (b.kernel === 5 ? 0.3 : 0);
    if (b.kind === "mbconv") capacity += 1.2 + 0.1 * b.expand;
    if (b.kind === "attention") capacity += 0.8 + 0.1 * Math.log2(b.heads);
  }
  const lrPenalty = (Math.log10(hp.lr) - (hp.optimizer === "sgd" ? -1 : -2.5)) ** 2;
  const momentumBonus = hp.optimizer === "sgd" ? 1 - Math.abs(hp.momentum - 0.9) : 0.8;
  for (let epoch = 1; epoch <= 3; epoch++) ctx.report(epoch, { score: (epoch / 3) * (capacity - lrPenalty + momentumBonus) });
  return { score: capacity - lrPenalty + momentumBonus, params_m: 0.1 * capacity };
}
