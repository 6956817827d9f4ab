import { accessSync, constants, statSync } from "node:fs";
import { delimiter, isAbsolute, join, resolve } from "node:path";

/** Words a `/bin/sh -c` command may start with that are no program file (builtins, keywords, assignments). */
const SHELL_WORDS = new Set(["cd", "exec", "export", "set", "source", ".", "eval", "env", "if", "for", "while", "case", "until", "{", "(", "!", "true", "false", "echo", "printf", "test", "[", "read", "trap", "ulimit", "umask", "time", "nice", "nohup", "timeout", "exit", "return", "kill", "wait", "shift", "unset", "alias", "command", "builtin", "type", "hash", "local", "readonly", "break", "continue", ":", "ulimit", "exec"]);

function executable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Why a trial command's program cannot run, or undefined when it can (or cannot be told without
 * running the shell). `program` is the first word; a path is relative to `cwd`, a bare name is
 * looked up in PATH.
 */
export function programProblem(program: string, cwd: string, viaShell: boolean): string | undefined {
  if (viaShell && (SHELL_WORDS.has(program) || program.includes("=") || /[$`'"\\*?;&|<>(){}]/.test(program))) return undefined;
  if (program.includes("/")) {
    const path = isAbsolute(program) ? program : resolve(cwd, program);
    try {
      statSync(path);
    } catch {
      return `program ${program} not found (looked for ${path})`;
    }
    return executable(path) ? undefined : `program ${path} is not an executable file (chmod +x it, or name its interpreter first: ["python3", "${program}"])`;
  }
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  if (dirs.some((d) => executable(join(d, program)))) return undefined;
  return `program "${program}" not found in PATH`;
}
