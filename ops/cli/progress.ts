// A one-line progress display on stderr, redrawn in place, and a bar to show in it. Only on a
// terminal: piped or captured output (CI, --json consumers) gets nothing, so it never mixes with results.

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

/** `[#########...........]  45% 450/1000 products`: a bar for a progress line, `width` cells wide. */
export function progressBar(done: number, total: number, unit: string, width = 30): string {
  const share = total === 0 ? 1 : Math.min(1, Math.max(0, done / total));
  const filled = Math.round(share * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.floor(share * 100)).padStart(3)}% ${done}/${total} ${unit}`;
}
