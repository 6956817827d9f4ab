/**
 * Output to a closed pipe (`archsearch trials --format json | head`) ends the command quietly
 * with status 0, as `git log | head` does: the reader has all it wanted. A closed stderr (the
 * parent of a worker is gone) is ignored: the process still has to stop cleanly.
 */
export function exitQuietlyOnClosedPipe(): void {
  process.stdout.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(0);
    throw e;
  });
  process.stderr.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code !== "EPIPE") throw e;
  });
}
