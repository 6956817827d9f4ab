/**
 * Splits a byte stream into lines (\n or \r\n), keeping at most `maxLineBytes` of each: a trial
 * program may print one line of gigabytes, and a reader that kept whole lines would run out of
 * memory. A line cut short is passed on with `truncated` set; bytes are decoded as UTF-8 once a
 * line is complete, so characters split across chunks survive.
 */
export class CappedLines {
  private parts: Buffer[] = [];
  private kept = 0;
  private truncated = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: string, truncated: boolean) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      this.keep(chunk.subarray(start, nl === -1 ? chunk.length : nl));
      if (nl === -1) return;
      this.flush();
      start = nl + 1;
    }
  }

  /** The stream ended: passes on a last line that had no newline. */
  end(): void {
    if (this.kept > 0 || this.truncated) this.flush();
  }

  private keep(bytes: Buffer): void {
    const room = this.maxLineBytes - this.kept;
    if (bytes.length > room) this.truncated = true;
    const take = bytes.subarray(0, Math.max(0, room));
    if (take.length === 0) return;
    this.parts.push(Buffer.from(take)); // a copy: the reader's chunk is not held on to
    this.kept += take.length;
  }

  private flush(): void {
    let line = Buffer.concat(this.parts).toString("utf8");
    if (line.endsWith("\r")) line = line.slice(0, -1);
    const truncated = this.truncated;
    this.parts = [];
    this.kept = 0;
    this.truncated = false;
    this.onLine(line, truncated);
  }
}
