// The flash-sale drill at test size on the real engines: exactly N accepted out of 20xN attempts,
// nothing oversold, every accepted order settled. Skipped on embedded engines outside CI; fails loudly in CI without them.
import { needsRealEngine } from '../../services/test-support/testing';
import { flashSaleDrill } from '../drills/flash-sale';

jest.setTimeout(180_000);

needsRealEngine('postgres', 'buyers must contend for the row lock (FOR UPDATE, pool > 1); embedded transactions never overlap')('flash sale', () => {
  it('sells exactly the units in stock and settles every accepted order', async () => {
    const result = await flashSaleDrill({ units: 20, attempts: 400, connections: 50, buyers: 100, settleTimeoutMs: 60_000 });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.verdict).toBe('PASS');
    expect(JSON.parse(String(result.figures['status codes']))).toEqual({ '202': 20, '409': 380 });
  });
});
