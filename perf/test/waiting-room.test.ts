// The waiting-room drill at test size on the real engines: every shopper holds exactly one place,
// admission never lets anyone in ahead of someone still refused (0 inversions), orders without
// admission are refused, and nothing is oversold. Skipped on embedded engines outside CI; fails
// loudly in CI without them.
import { needsRealEngine } from '../../services/test-support/testing';
import { waitingRoomDrill } from '../drills/waiting-room';

jest.setTimeout(240_000);

needsRealEngine('postgres', 'the sale runs with a pool > 1 and contended row locks; embedded transactions never overlap')('waiting-room drill', () => {
  // 120 shoppers at 40/s: three seconds of admissions, enough to see one let in ahead of another.
  it('admits 120 shoppers in arrival order and sells exactly the 12 units', async () => {
    const result = await waitingRoomDrill({ shoppers: 120, units: 12, inletPerSecond: 40, connections: 20, statusSeconds: 1 });
    expect(result.checks.filter((c) => !c.ok)).toEqual([]);
    expect(result.verdict).toBe('PASS');
    expect(JSON.parse(String(result.figures['admitted shoppers: status codes']))).toEqual({ '202': 12, '409': 108 });
  });
});
