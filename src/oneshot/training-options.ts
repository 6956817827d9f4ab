import { z } from "zod";

/**
 * The supernet-training options the differentiable searchers and the supernet evaluator share,
 * with the NB201 papers' defaults (C 16, N 5, 50 epochs, batch 64, SGD 0.025 -> 0.001 cosine,
 * momentum 0.9, wd 3e-4, gradient norm clipped at 5).
 */
export const supernetTrainingOptions = {
  split_seed: z.number().int().min(0).default(0),
  channels: z.number().int().min(1).default(16),
  cells_per_stage: z.number().int().min(1).default(5),
  epochs: z.number().int().min(1).default(50),
  batch_size: z.number().int().min(1).default(64),
  lr: z.number().positive().default(0.025),
  lr_min: z.number().min(0).default(0.001),
  momentum: z.number().min(0).max(1).default(0.9),
  weight_decay: z.number().min(0).default(3e-4),
  grad_clip: z.number().positive().default(5),
};
