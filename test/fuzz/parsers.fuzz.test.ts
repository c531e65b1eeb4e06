import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsdbBackend } from '../../agent/backends/ovsdb.js';
import { type FuzzTarget, agentAnswerTarget, agentRpcTarget, configTargets, fileTargets, formatReport, fuzz, ovsdbTargets } from '../../scripts/lib/fuzz.js';
import { OvsdbServer } from '../../sandbox/index.js';

/**
 * A bounded fuzz run of every parser that reads outside input (the longer
 * run: `npm run fuzz`). Each must end every input in a result or its own
 * typed error: no other exception, no hang, bounded memory.
 */
const RUNS = Number(process.env.OVN_CHASSIS_FUZZ_RUNS ?? 400);
let server: OvsdbServer;
let backend: OvsdbBackend;
const targets: FuzzTarget[] = [];

beforeAll(async () => {
  server = await OvsdbServer.start();
  backend = await OvsdbBackend.connect(server.unix);
  targets.push(...configTargets(), agentRpcTarget(backend), agentAnswerTarget(), ...(await ovsdbTargets()), ...fileTargets());
});

afterAll(async () => {
  await backend?.close();
  await server?.stop();
});

describe('fuzzing the parsers of outside input', () => {
  it(`ends every one of ${RUNS} inputs per parser in a result or a typed error`, async () => {
    const reports = [];
    for (const t of targets) {
      const r = await fuzz(t, { runs: RUNS });
      console.log(formatReport(r));
      reports.push(r);
    }
    expect(reports.map((r) => r.target)).toHaveLength(9);
    for (const r of reports) {
      expect(r.inputs, r.target).toBe(RUNS);
      expect(r.examples, r.target).toEqual([]);
      expect(r.crashes, r.target).toBe(0);
      expect(r.hangs, r.target).toBe(0);
    }
  });
});
