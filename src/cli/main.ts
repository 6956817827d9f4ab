#!/usr/bin/env node
import { Command, InvalidArgumentError } from "commander";
import { UserError } from "../core/errors.js";
import { exportCommand } from "./export.js";
import { bestCommand, runCommand, spacesCommand, statusCommand, strategiesCommand, trialsCommand } from "./commands.js";

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
};

const program = new Command()
  .name("archsearch")
  .description("Neural architecture search: run and inspect experiments.")
  .showHelpAfterError();

program
  .command("run")
  .description("run an experiment from a YAML or JSON config (resumes it if it exists)")
  .argument("<config>", "config file")
  .option("--json", "print the final result as one JSON line on stdout")
  .option("--storage <storage>", "override the config's storage (SQLite path, :memory: or postgres://user@host:port/db?schema=NAME)")
  .option("--trials <n>", "override budget.trials", positiveInt)
  .option("-q, --quiet", "no progress output")
  .action((config: string, o) => runCommand(config, o));

const storageOpt = ["--storage <storage>", "SQLite store path or postgres:// URL", "archsearch.db"] as const;

program.command("status").description("show an experiment's state").argument("<name>").option(...storageOpt).option("--json", "JSON output").action((n: string, o) => statusCommand(n, o));
program
  .command("best")
  .description("list the best trials of an experiment")
  .argument("<name>")
  .option(...storageOpt)
  .option("--top <k>", "how many", positiveInt, 5)
  .option("--json", "JSON output")
  .action((n: string, o) => bestCommand(n, o));
program
  .command("trials")
  .description("export every trial of an experiment")
  .argument("<name>")
  .option(...storageOpt)
  .option("--format <format>", "csv or json (JSON lines, with intermediate results)", "csv")
  .action((n: string, o) => trialsCommand(n, o));
program
  .command("export")
  .description("write the best (or a given) trial's architecture as JSON, a standalone PyTorch module, or an ONNX graph")
  .argument("<name>")
  .option(...storageOpt)
  .option("--trial <n>", "trial number (default: the best finished trial)", (v: string) => positiveInt(String(Number(v) + 1)) - 1)
  .option("--format <format>", "json, pytorch or onnx (needs --out and the tensor engine)", "json")
  .option("--out <file>", "output file (default: stdout)")
  .option("--channels <n>", "network width for code export (default: the training evaluator's, else 16)", positiveInt)
  .option("--cells <n>", "cells per stage for code export (default: the training evaluator's, else 5)", positiveInt)
  .option("--classes <n>", "classes for code export", positiveInt)
  .option("--input-channels <n>", "input channels for code export (default: 1 for MNIST, else 3)", positiveInt)
  .action((n: string, o) => exportCommand(n, o));
program.command("spaces").description("list the built-in search spaces").option("--json", "JSON output").action((o) => { spacesCommand(o); });
program.command("strategies").description("list the search strategies").option("--json", "JSON output").action((o) => { strategiesCommand(o); });

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof UserError) {
    process.stderr.write(`archsearch: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`archsearch: internal error (a bug; please report it):\n${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
