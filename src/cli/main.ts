#!/usr/bin/env node
import { Command, InvalidArgumentError } from "commander";
import { exitCodeOf } from "./exit-code.js";
import { exportCommand } from "./export.js";
import { dashboardCommand } from "./dashboard.js";
import { reportCommand } from "./report.js";
import { exitQuietlyOnClosedPipe } from "./pipes.js";
import { compareCommand, deleteCommand, experimentsCommand, stopCommand, strategyOptionsCommand } from "./manage.js";
import { runWorkersCommand, workerCommand } from "./workers.js";
import { bestCommand, runCommand, spacesCommand, statusCommand, strategiesCommand, trialsCommand } from "./commands.js";

const positiveInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a positive integer");
  return n;
};

const positiveNumber = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError("expected a positive number");
  return n;
};
const nonNegativeInt = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("expected an integer >= 0");
  return n;
};

exitQuietlyOnClosedPipe();

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
  .option("--workers <n>", "run N local worker processes sharing the experiment (SQLite file or PostgreSQL storage)", positiveInt)
  .option("--heartbeat <s>", "with --workers: seconds between heartbeats of a running trial (overrides workers.heartbeat_seconds; default 2)", positiveNumber)
  .option("--grace <s>", "with --workers: a trial whose worker is silent this long is retried (overrides workers.grace_seconds; default 30)", positiveNumber)
  .option("--max-retries <n>", "with --workers: retries of a trial whose worker died before it is failed (overrides workers.max_retries; default 2)", nonNegativeInt)
  .action((config: string, o) => (o.workers ? runWorkersCommand(config, o) : runCommand(config, o)));

program
  .command("worker")
  .description("run one worker of a shared experiment until its budget is done (start any number, on any machines)")
  .argument("<config>", "config file (every worker uses the same)")
  .option("--storage <storage>", "override the config's storage (a SQLite file on this machine, or postgres://user@host:port/db?schema=NAME)")
  .option("--id <name>", "this worker's name in the store (default HOST:PID)")
  .option("--trials <n>", "override budget.trials", positiveInt)
  .option("--heartbeat <s>", "seconds between heartbeats of a running trial (overrides workers.heartbeat_seconds; default 2)", positiveNumber)
  .option("--grace <s>", "a trial whose worker is silent this long is retried (overrides workers.grace_seconds; default 30)", positiveNumber)
  .option("--max-retries <n>", "retries of a trial whose worker died before it is failed (overrides workers.max_retries; default 2)", nonNegativeInt)
  .option("--json", "print the final result as one JSON line on stdout")
  .option("-q, --quiet", "no progress output")
  .action((config: string, o) => workerCommand(config, o));

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
  .option("--status <list>", "only trials in these statuses, comma-separated (e.g. failed or finished,pruned)")
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
program
  .command("dashboard")
  .description("serve a read-only web dashboard of the store's experiments, live while they run")
  .option(...storageOpt)
  .option("--port <port>", "port (0: any free one)", (v: string) => nonNegativeInt(v), 8080)
  .option("--host <host>", "address to listen on; anything but loopback requires a token", "127.0.0.1")
  .option("--token <token>", "access token every request must carry (generated when --host is not loopback)")
  .option("--artifact-dir <dir>", "artifact folder of experiments whose config names none (default beside the SQLite file)")
  .action((o) => dashboardCommand(o));
program
  .command("report")
  .description("write an experiment's dashboard as one self-contained HTML file (data inlined, no network)")
  .argument("<name>")
  .option(...storageOpt)
  .requiredOption("--out <file>", "the HTML file to write")
  .option("--trial-pages <n>", "trials whose own page the report holds, the best first (default 1000)", positiveInt)
  .option("--artifact-dir <dir>", "artifact folder of experiments whose config names none")
  .action((n: string, o) => reportCommand(n, o));
program.command("spaces").description("list the built-in search spaces").option("--json", "JSON output").action((o) => { spacesCommand(o); });
program
  .command("strategies")
  .description("list the search strategies, or one strategy's options with their defaults")
  .argument("[name]", "a strategy")
  .option("--json", "JSON output")
  .action((n: string | undefined, o) => {
    if (n) strategyOptionsCommand(n, o);
    else strategiesCommand(o);
  });
// Experiment management (src/cli/manage.ts).
program.command("experiments").description("list the store's experiments: status, trials, best").option(...storageOpt).option("--json", "JSON output").action((o) => experimentsCommand(o));
program.command("delete").description("delete an experiment and its trials").argument("<name>").option(...storageOpt).option("--yes", "do not ask for confirmation").action((n: string, o) => deleteCommand(n, o));
program
  .command("compare")
  .description("compare experiments side by side: best, trials to a target")
  .argument("<names...>")
  .option(...storageOpt)
  .option("--target <value>", "also show the trials each needed to reach this value of its primary objective", (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError("expected a number");
    return n;
  })
  .option("--json", "JSON output")
  .action((n: string[], o) => compareCommand(n, o));
program.command("stop").description("ask the processes running an experiment on this machine to finish their trials and stop").argument("<name>").option(...storageOpt).action((n: string, o) => stopCommand(n, o));

program.parseAsync(process.argv).catch((e: unknown) => {
  const code = exitCodeOf(e);
  if (code !== 1) {
    process.stderr.write(`archsearch: ${(e as Error).message}\n`);
    process.exit(code);
  }
  process.stderr.write(`archsearch: internal error (a bug; please report it):\n${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
