// Captures what a command prints, for assertions.
import type { CommandOutput } from '../../cli/command';

export interface CapturedOutput extends CommandOutput {
  readonly stdout: string[];
  readonly stderr: string[];
}

export function captureOutput(): CapturedOutput {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (text) => stdout.push(text), err: (text) => stderr.push(text) };
}
