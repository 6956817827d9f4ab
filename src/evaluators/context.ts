/** What an evaluator component may use when it is built from a config. */
export interface EvaluatorContext {
  /** Folder of the config file: relative paths in evaluator options are resolved against it. */
  configDir: string;
  seed: number;
}
