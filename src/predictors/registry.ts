/**
 * Every performance predictor by name. Predictors on the tensor engine are loaded lazily (their
 * modules import libtorch), so importing this file never needs the engine.
 */
import type { PredictorFactory } from "./predictor.js";
import { gpPredictor } from "./gp.js";
import { boostingPredictor, randomForestPredictor } from "./tree-predictors.js";
import { transferPredictor } from "./transfer.js";
import { ensembleFactory, frGnnPredictor, gcnPredictor, ginPredictor, mlpPredictor } from "./neural-factories.js";

export const predictors: Record<string, PredictorFactory> = {
  gp: gpPredictor,
  random_forest: randomForestPredictor,
  gbt: boostingPredictor,
  transfer: transferPredictor,
  mlp: mlpPredictor,
  gcn: gcnPredictor,
  gin: ginPredictor,
  fr_gnn: frGnnPredictor,
  ensemble: ensembleFactory(() => predictors),
};
