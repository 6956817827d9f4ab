/**
 * An error caused by what the user gave us (a config, a file, a name). The CLI prints its
 * message without a stack trace; anything else is a bug and keeps its trace.
 */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/**
 * An experiment that ran but ended because its trials failed (max_failures), or in which no trial
 * finished: the CLI exits with status 3, so that scripts tell it from a bad config (status 2).
 */
export class TrialsFailedError extends UserError {
  readonly exitCode = 3;
  constructor(message: string) {
    super(message);
    this.name = "TrialsFailedError";
  }
}

/** A configuration that fails validation: names the file and every bad field. */
export class ConfigError extends UserError {
  constructor(
    readonly file: string | undefined,
    readonly problems: { path: string; message: string }[],
  ) {
    super(
      `${file ? `Invalid config ${file}` : "Invalid config"}:\n` +
        problems.map((p) => `  - ${p.path || "(root)"}: ${p.message}`).join("\n"),
    );
    this.name = "ConfigError";
  }
}
