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
