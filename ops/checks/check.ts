// What a preflight check produces, and what every check is given to run.
import type { AwsClients } from '../aws/clients';
import type { PreflightExpectations } from '../preflight/expectations';
import type { DeployedOutputs } from '../stack/outputs';

export type Verdict = 'pass' | 'fail' | 'skip';

/** One row of the preflight table. */
export interface CheckResult {
  readonly check: string;
  readonly expected: string;
  readonly found: string;
  readonly verdict: Verdict;
}

export interface CheckContext {
  readonly clients: AwsClients;
  readonly outputs: DeployedOutputs;
  readonly expectations: PreflightExpectations;
  /** Milliseconds since the epoch; metric windows end here and sale times are compared to it. */
  readonly now: number;
}

/** A named set of checks against one service; one AWS query failure fails the whole group. */
export interface CheckGroup {
  readonly name: string;
  run(context: CheckContext): Promise<CheckResult[]>;
}

export function verdictOf(ok: boolean): Verdict {
  return ok ? 'pass' : 'fail';
}

export function result(check: string, expected: string, found: string, ok: boolean): CheckResult {
  return { check, expected, found, verdict: verdictOf(ok) };
}
