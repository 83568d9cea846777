// A one-line progress display on stderr, redrawn in place. Only on a terminal: piped or captured
// output (CI, --json consumers) gets nothing, so it never mixes with results.

export interface ProgressLine {
  update(text: string): void;
  /** Erases the line so the results start on a clean line. */
  done(): void;
}

export function progressLine(stream: NodeJS.WriteStream = process.stderr): ProgressLine {
  if (!stream.isTTY) return { update: () => {}, done: () => {} };
  let shown = false;
  return {
    update(text) {
      const width = Math.max(10, (stream.columns ?? 80) - 1);
      stream.write(`\r\x1b[2K${text.slice(0, width)}`);
      shown = true;
    },
    done() {
      if (shown) stream.write('\r\x1b[2K');
      shown = false;
    },
  };
}
