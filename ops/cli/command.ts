// The shell around every command: parse argv strictly, run, print an error as one clear line and
// turn it into an exit code (0 ok, 1 check/drill failed, 2 usage, 3 AWS access or lookup problem).
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { OpsError } from '../aws/errors';
import { UsageError } from './usage-error';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Parses argv; an unknown flag, a missing value or an extra positional becomes a UsageError. */
export function parseCommandLine<T extends Options>(argv: readonly string[], options: T) {
  try {
    return parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export interface CommandOutput {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: CommandOutput = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

/** Runs a command's main, reporting errors on `output.err`; resolves to the process exit code. */
export async function runCommand(
  main: () => Promise<number>,
  usage: string,
  output: CommandOutput = processOutput,
): Promise<number> {
  try {
    return await main();
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`error: ${error.message}\n\n${usage}`);
      return error.exitCode;
    }
    if (error instanceof OpsError) {
      output.err(`error: ${error.message}`);
      return error.exitCode;
    }
    output.err(`error: ${(error as Error)?.stack ?? String(error)}`);
    return 1;
  }
}
