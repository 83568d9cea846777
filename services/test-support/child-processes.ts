// The tests' child processes, without testing.ts's imports (the jest global setup loads this file):
// fauxqs 1.9.2 (an SQS emulator) as ./sqs-emulator.mjs, because jest cannot load ESM-only fauxqs,
// started once per jest run by ./jest-global-setup.ts and shared by every test file (./testing.ts
// startSqsEmulator), or once per local drill; and stopping a child.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** Where the global setup leaves the shared emulator's endpoint for the test workers. */
export const SHARED_SQS_VARIABLE = 'SURGE_TEST_SQS_ENDPOINT';

const EMULATOR_SCRIPT = join(__dirname, 'sqs-emulator.mjs');

/** Starts fauxqs on 127.0.0.1 and a free port; it also exits when this process does (its stdin closes). */
export async function spawnSqsEmulator(): Promise<{ endpoint: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [EMULATOR_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
  const endpoint = await new Promise<string>((resolve, reject) => {
    // About 1 s alone; jest runs several test files at once on two cores, and they all start engines.
    const timer = setTimeout(() => reject(new Error('the SQS emulator (fauxqs) did not start within 30 s')), 30000);
    child.once('exit', (code) => reject(new Error(`the SQS emulator (fauxqs) exited with code ${code} before it listened`)));
    createInterface({ input: child.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve((JSON.parse(line) as { endpoint: string }).endpoint);
    });
  });
  return { endpoint, stop: () => stopChild(child) };
}

/** Signals the child (unless it has exited) and waits for its exit. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill(signal);
  await exited;
}
