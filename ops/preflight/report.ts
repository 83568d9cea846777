// Renders preflight results: an aligned text table for people, JSON for machines.
import type { CheckResult } from '../checks/check';

const COLUMNS = ['check', 'expected', 'found', 'verdict'] as const;

export function formatTable(results: readonly CheckResult[]): string {
  const rows = results.map((r) => [r.check, r.expected, r.found, r.verdict.toUpperCase()]);
  const header = COLUMNS.map((c) => c.toUpperCase());
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
  const line = (cells: string[]) => cells.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd();
  const counts = countVerdicts(results);
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map(line),
    '',
    `${counts.pass} passed, ${counts.fail} failed, ${counts.skip} skipped`,
  ].join('\n');
}

export interface PreflightReport {
  readonly env: string;
  readonly sale: string | null;
  readonly checkedAt: string;
  readonly ok: boolean;
  readonly checks: readonly CheckResult[];
}

export function formatJson(report: PreflightReport): string {
  return JSON.stringify(report, null, 2);
}

function countVerdicts(results: readonly CheckResult[]): Record<CheckResult['verdict'], number> {
  const counts = { pass: 0, fail: 0, skip: 0 };
  for (const r of results) counts[r.verdict] += 1;
  return counts;
}
