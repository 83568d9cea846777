// jest globalTeardown of the projects that have ./jest-global-setup.ts: stops the run's shared SQS emulator.
import { SHARED_SQS_STOP } from './jest-global-setup';

export default async function stopSharedEngines(): Promise<void> {
  const stop = (globalThis as Record<symbol, unknown>)[SHARED_SQS_STOP] as (() => Promise<void>) | undefined;
  await stop?.();
}
