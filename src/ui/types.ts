export type Status = "pending" | "running" | "paused" | "finished" | "failed" | "pruned";
export interface Objective {
  metric: string;
  direction: "max" | "min";
}
export interface Summary {
  name: string;
  space: string | null;
  strategy: string | null;
  scheduler: string;
  evaluator: string | null;
  status: "running" | "done";
  counts: Record<Status, number>;
  trials: number;
  budget: number | null;
  objectives: Objective[];
  constraints: { metric: string; min?: number; max?: number }[];
  best: number | null;
  bestTrial: number | null;
  createdAt: number;
  updatedAt: number;
  seq: number;
}
export type ArchView =
  | { kind: "cell"; nodes: number; edges: { from: number; to: number; op: string }[] }
  | { kind: "chain"; blocks: string[] }
  | { kind: "graph"; ops: string[]; adjacency: number[][] }
  | { kind: "json" };
export interface ExperimentDetail extends Summary {
  config: Record<string, unknown>;
  columns: { name: string; numeric: boolean }[];
  bestArch: { number: number; arch: unknown; hp: Record<string, unknown>; view: ArchView } | null;
}
export type Cell = string | number | boolean | null;
/** A points row: number, status, finished_s, cost_s, cached, feasible, objective values... */
export type PointRow = [number, Status, number | null, number | null, 0 | 1, 0 | 1, ...(number | null)[]];
