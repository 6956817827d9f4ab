/**
 * An ensemble of K predictors of one kind with different seeds (Lakshminarayanan et al. 2017, as
 * BANANAS uses): the prediction is the members' mean, its uncertainty the spread of the members'
 * means combined with their own standard deviations (law of total variance). Members are fitted
 * one after another, so the result does not depend on timing.
 */
import type { Json } from "../core/json.js";
import { deriveSeed } from "../core/rng.js";
import type { LabelledPoint, Prediction, Predictor, PredictorContext, PredictorFactory } from "./predictor.js";

export class EnsemblePredictor implements Predictor {
  constructor(
    readonly name: string,
    readonly members: readonly Predictor[],
  ) {
    if (members.length === 0) throw new RangeError("an ensemble needs at least one member");
  }

  /** K members from a factory; member k gets the seed derived from (ctx.seed, "ensemble", k). */
  static of(factory: PredictorFactory, ctx: PredictorContext, k: number, options?: Record<string, unknown>): EnsemblePredictor {
    const members = Array.from({ length: k }, (_, i) => factory.create({ ...ctx, seed: deriveSeed(ctx.seed, "ensemble", i) }, options));
    return new EnsemblePredictor(`${factory.name}_ensemble`, members);
  }

  private data: LabelledPoint[] = [];

  async fit(data: readonly LabelledPoint[]): Promise<void> {
    this.data = [...data];
    for (const m of this.members) await m.fit(data);
  }

  /** Members that can update do; the others are refitted on every pair so far. */
  async update(data: readonly LabelledPoint[]): Promise<void> {
    this.data.push(...data);
    for (const m of this.members) await (m.update ? m.update(data) : m.fit(this.data));
  }

  async predict(points: readonly Json[]): Promise<Prediction[]> {
    const all: Prediction[][] = [];
    for (const m of this.members) all.push(await m.predict(points));
    const K = all.length;
    return points.map((_, i) => {
      let mean = 0;
      for (const p of all) mean += p[i].mean;
      mean /= K;
      let variance = 0;
      for (const p of all) variance += (p[i].mean - mean) ** 2 + p[i].std ** 2;
      return { mean, std: Math.sqrt(variance / K) };
    });
  }

  dispose(): void {
    for (const m of this.members) m.dispose?.();
  }
}
