import { describe, expect, it, vi } from 'vitest';
import { SouthboundIndex, TouchFanout, asInserts } from '../../controller/sb-index.js';
import { type Expectation, type SouthboundView, type Verdict, awaitVerdicts } from '../../controller/verify.js';

/**
 * When a verdict counts: only once the view it was read from is confirmed
 * current (a relay's proof) after it. The view here is the real index and
 * fanout, fed by hand; what confirmCurrent says is the test's to choose.
 */
const exp: Expectation = { host: 'cmp-1', systemId: 'c1', encaps: [{ type: 'geneve', ip: '192.0.2.1' }], gateway: false };

function view(confirm: () => Promise<boolean>): SouthboundView & { confirms: number } {
  const index = new SouthboundIndex();
  index.apply([
    ...asInserts('Chassis', new Map([['u1', { name: 'c1', encaps: ['e1'], other_config: new Map(), external_ids: new Map() }]])),
    ...asInserts('Encap', new Map([['e1', { type: 'geneve', ip: '192.0.2.1', chassis_name: 'c1' }]])),
  ]);
  const fanout = new TouchFanout();
  const v = {
    confirms: 0,
    chassisByName: (n: string) => index.chassisByName(n),
    encaps: () => index.encaps(),
    chassisNames: () => [...index.names()],
    onTouched: (l: (names: Set<string>) => void, names?: Iterable<string>) => fanout.subscribe(l, names),
    confirmCurrent: async () => {
      v.confirms++;
      return confirm();
    },
    close: () => undefined,
  };
  return v as unknown as SouthboundView & { confirms: number };
}

describe('verdicts from a view that must be shown current', () => {
  it('a chassis that matches counts once the view is confirmed current, and onVerified fires then', async () => {
    const sb = view(async () => true);
    const seen: Verdict[] = [];
    expect(await awaitVerdicts(sb, [exp], 5_000, (v) => seen.push(v))).toEqual([{ host: 'cmp-1', systemId: 'c1', state: 'verified' }]);
    expect(seen).toHaveLength(1);
    expect(sb.confirms).toBeGreaterThan(0);
  });

  it('a view that cannot be confirmed current proves nothing: at the deadline the verdict is unproven, and onVerified never fired', async () => {
    const sb = view(async () => {
      throw new Error('the relay r could not show that it reaches its Southbound now');
    });
    const seen: Verdict[] = [];
    const [v] = await awaitVerdicts(sb, [exp], 300, (x) => seen.push(x));
    expect(v).toEqual({ host: 'cmp-1', systemId: 'c1', state: 'unproven', why: 'the relay r could not show that it reaches its Southbound now' });
    expect(seen).toEqual([]);
  });

  it('with nothing to wait for (no node applied), it answers at once, not at the deadline', async () => {
    vi.useFakeTimers();
    try {
      // No timer is advanced: only an answer that needs no deadline can come.
      await expect(awaitVerdicts(view(async () => false), [], 3_600_000)).resolves.toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });
});

