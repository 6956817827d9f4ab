/**
 * The engine's error for what its caller gave it (a shape, a file, a checkpoint, a network it
 * cannot export) or for a missing libtorch: the message says what is wrong and what to do. The
 * engine is a library of its own and imports nothing outside src/engine, so this is not archsearch's
 * UserError; archsearch's CLI prints both the same way, as a message without a stack trace.
 */
export class EngineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "EngineError";
  }
}
