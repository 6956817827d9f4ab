/**
 * How a command that runs trials stops on signals. SIGINT (Ctrl-C) once: no new trials, the ones
 * in flight finish. SIGINT again, or SIGTERM (timeout, docker stop, a scheduler): stop now, the
 * trials in flight are aborted and put back in the store as pending, for the resume. A third
 * SIGINT quits at once (the store stays consistent: a resume re-runs what was running).
 */
export function stopSignals(what: "run" | "worker") {
  const signal = new AbortController();
  const interrupt = new AbortController();
  let ints = 0;
  let exitCode: number | undefined;
  const say = (text: string) => process.stderr.write(`\n${text}\n`);
  const now = (why: string) => {
    if (!interrupt.signal.aborted) say(`${why}: stopping now; the trials in flight are put back for the resume`);
    signal.abort();
    interrupt.abort();
  };
  const onInt = () => {
    ints++;
    exitCode = 130;
    if (ints === 1) {
      say(
        what === "run"
          ? "stopping after the trials in flight (Ctrl-C again to stop them now; the experiment resumes on the next run)"
          : "worker stopping after its trials in flight (Ctrl-C again to stop them now)",
      );
      signal.abort();
    } else if (ints === 2) now("interrupted");
    else process.exit(130);
  };
  const onTerm = () => {
    exitCode = 143;
    now("SIGTERM");
  };
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  return {
    signal: signal.signal,
    interrupt: interrupt.signal,
    /** 130 after SIGINT, 143 after SIGTERM (the shell's convention for a command ended by a signal), else undefined. */
    get exitCode() {
      return exitCode;
    },
    /** Stops now, as SIGTERM does (a parent that went away, `archsearch stop`). */
    stopNow: (why: string) => now(why),
    dispose: () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
    },
  };
}
