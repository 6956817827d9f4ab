import cliProgress from "cli-progress";
import type { ExperimentEvent, Progress } from "../core/experiment.js";
import type { Objectives } from "../core/objectives.js";
import { fmtDuration, fmtMetrics, fmtNumber } from "./format.js";
import { oneLineReason } from "./reasons.js";

/**
 * Shows an experiment's progress on stderr: a bar (done / budget, best so far, elapsed, ETA) on
 * a terminal, plain log lines otherwise (at most ~20 lines plus one per 5 seconds).
 */
export function progressReporter(objectives: Objectives, opts: { quiet?: boolean; tty?: boolean } = {}) {
  const tty = opts.tty ?? Boolean(process.stderr.isTTY);
  const metric = objectives.primary.metric;
  const bestText = (p: Progress) => (p.best ? `${metric} ${fmtNumber(p.best.metrics[metric])}` : "-");
  let bar: cliProgress.SingleBar | undefined;
  let lastLog = 0;
  let startDone = 0;
  const startedAt = Date.now();

  const onEvent = (e: ExperimentEvent) => {
    if (opts.quiet) return;
    const p = e.progress;
    if (e.type === "opened") {
      startDone = p.done;
      const what = e.created ? "created" : `resumed at ${p.done}/${p.budget} trials${e.resumed ? `, re-running ${e.resumed} unfinished` : ""}`;
      process.stderr.write(`experiment ${e.experiment.name}: ${what}\n`);
      if (tty) {
        bar = new cliProgress.SingleBar(
          { format: "trials {bar} {value}/{total} | best {best} | elapsed {elapsed} | ETA {eta_formatted}", stream: process.stderr, hideCursor: true, etaBuffer: 50 },
          cliProgress.Presets.shades_classic,
        );
        bar.start(p.budget, p.done, { best: bestText(p), elapsed: "0.0 s" });
      }
      return;
    }
    const elapsed = (Date.now() - startedAt) / 1000;
    if (e.type === "searcher") {
      // A searcher's epoch: its losses and the architecture's entropy, one line each (above the bar).
      const line = `${e.searcher} epoch ${e.step}${e.resumed ? " (resumed from its checkpoint)" : ""}: ${fmtMetrics(e.metrics, Object.keys(e.metrics))} | elapsed ${fmtDuration(elapsed)}\n`;
      if (bar) bar.stop();
      process.stderr.write(line);
      if (bar) bar.start(p.budget, p.done, { best: bestText(p), elapsed: fmtDuration(elapsed) });
      return;
    }
    const failed = e.trial.status === "failed";
    if (bar) {
      if (failed) {
        // Every failure on its own line (above the bar): its reason is what the user needs.
        bar.stop();
        process.stderr.write(`trial ${e.trial.number} failed: ${oneLineReason(e.trial.error)}\n`);
        bar.start(p.budget, p.done, { best: bestText(p), elapsed: fmtDuration(elapsed) });
      }
      bar.update(p.done, { best: bestText(p), elapsed: fmtDuration(elapsed) });
      if (p.done >= p.budget) bar.stop();
      return;
    }
    const now = Date.now();
    const step = Math.max(1, Math.floor(p.budget / 20));
    if (failed || p.done % step === 0 || p.done >= p.budget || now - lastLog > 5000) {
      lastLog = now;
      const rate = (p.done - startDone) / Math.max(elapsed, 1e-9);
      const eta = rate > 0 ? (p.budget - p.done) / rate : NaN;
      const t = e.trial;
      process.stderr.write(
        `[${p.done}/${p.budget}] trial ${t.number} ${t.status}${failed ? `: ${oneLineReason(t.error)}` : ""}${t.cachedFrom !== null ? ` (cached from ${t.cachedFromExperiment ? `${t.cachedFromExperiment} #` : ""}${t.cachedFrom})` : ""}${failed ? "" : ` ${fmtMetrics(t.metrics, objectives.metricsNeeded())}`}` +
          ` | best ${bestText(p)} | elapsed ${fmtDuration(elapsed)} | ETA ${fmtDuration(eta)}\n`,
      );
    }
  };
  return { onEvent, stop: () => bar?.stop() };
}
