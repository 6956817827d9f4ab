/**
 * Output to a closed pipe (`archsearch trials --format json | head`) ends the command quietly
 * with status 0, as `git log | head` does: the reader has all it wanted.
 */
export function exitQuietlyOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(0);
      throw e;
    });
  }
}
