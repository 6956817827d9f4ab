#!/usr/bin/env node
import { Command, InvalidArgumentError } from "commander";
import { UserError } from "../core/errors.js";
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
  .option("--storage <storage>", "override the config's storage (SQLite path or :memory:)")
  .option("--trials <n>", "override budget.trials", positiveInt)
  .option("-q, --quiet", "no progress output")
  .action((config: string, o) => runCommand(config, o));

const storageOpt = ["--storage <storage>", "SQLite store path", "archsearch.db"] as const;

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
