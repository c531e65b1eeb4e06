import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import fc from 'fast-check';
import { preview } from '../../common/text.js';
import { AgentError } from '../../agent/errors.js';
import { RpcSession } from '../../agent/rpc.js';
import { SnapshotStore } from '../../agent/snapshots.js';
import type { Backend } from '../../agent/state.js';
import { checkInventory } from '../../controller/inventory.js';
import { ControllerError } from '../../controller/errors.js';
import { readRecords } from '../../controller/journal.js';
import { AgentClient } from '../../controller/transport/client.js';
import { JsonFramer, OvsdbError, RpcConnection, TableCache, parseSchema } from '../../ovsdb/index.js';
import { chassisConfigSchema } from '../../schemas/chassis.js';
import { PROTOCOL_VERSION } from '../../schemas/rpc.js';
import { ConfigError } from '../../schemas/errors.js';
import { check, parseYaml } from '../../schemas/load.js';
import { tempDir } from '../../sandbox/index.js';

/**
 * Fuzzing of every parser that reads outside input: each target turns an
 * input into a call that must end in a result or the error type that parser
 * promises, and nothing else — no other exception, no hang, bounded memory.
 * Inputs come from fast-check: random text, random JSON, and valid examples
 * mutated (cut, repeated, nested deeper, poisoned with NUL, quotes, escapes).
 */
export interface FuzzTarget {
  name: string;
  inputs: fc.Arbitrary<string>;
  /** Resolves or throws; a throw that `expected` does not accept is a crash. */
  run(input: string): Promise<unknown>;
  expected(err: unknown): boolean;
}

export interface FuzzReport {
  target: string;
  inputs: number;
  crashes: number;
  hangs: number;
  peakRssMb: number;
  slowestMs: number;
  examples: string[];
}

/** An input taking longer than this is counted as a hang. */
const HANG_MS = 2000;

export async function fuzz(target: FuzzTarget, opts: { runs: number; seconds?: number; seed?: number }): Promise<FuzzReport> {
  const report: FuzzReport = { target: target.name, inputs: 0, crashes: 0, hangs: 0, peakRssMb: 0, slowestMs: 0, examples: [] };
  const deadline = opts.seconds ? Date.now() + opts.seconds * 1000 : Infinity;
  let seed = opts.seed ?? 42;
  while (report.inputs < opts.runs && Date.now() < deadline) {
    for (const input of fc.sample(target.inputs, { numRuns: Math.min(100, opts.runs - report.inputs), seed: seed++ })) {
      const t0 = Date.now();
      try {
        await target.run(input);
      } catch (err) {
        if (!target.expected(err)) {
          report.crashes++;
          if (report.examples.length < 3) report.examples.push(`${preview(input, 200)} -> ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
        }
      }
      const ms = Date.now() - t0;
      report.slowestMs = Math.max(report.slowestMs, ms);
      if (ms > HANG_MS) report.hangs++;
      report.inputs++;
      if (report.inputs % 25 === 0) {
        report.peakRssMb = Math.max(report.peakRssMb, process.memoryUsage().rss / 2 ** 20);
        // Let the event loop turn, as real I/O would: closed streams release their memory in callbacks it runs.
        await new Promise((r) => setImmediate(r));
      }
      if (Date.now() >= deadline) break;
    }
  }
  report.peakRssMb = Math.round(Math.max(report.peakRssMb, process.memoryUsage().rss / 2 ** 20));
  return report;
}

export function formatReport(r: FuzzReport): string {
  return `fuzz ${r.target}: ${r.inputs} inputs, ${r.crashes} crashes, ${r.hangs} hangs, slowest ${r.slowestMs} ms, peak RSS ${r.peakRssMb} MB${r.examples.map((e) => `\n  crash: ${e}`).join('')}`;
}

const POISON = ['\u0000', '"', '\\', '{', '}', '[', ']', ',', ':', '\n', '\u001b[2J', '\ud800', '__proto__', 'constructor', '-1', '1e309', '9007199254740993', '&a', '*a', '!!binary', '<<: *a'];

/** Valid examples cut, repeated, nested and poisoned. */
function mutated(seeds: string[]): fc.Arbitrary<string> {
  const edit = fc.record({
    op: fc.constantFrom('insert', 'delete', 'repeat', 'nest'),
    at: fc.nat(),
    len: fc.nat({ max: 40 }),
    text: fc.oneof(fc.constantFrom(...POISON), fc.string({ maxLength: 8 })),
    times: fc.integer({ min: 1, max: 3000 }),
  });
  return fc.tuple(fc.constantFrom(...seeds), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([seed, edits]) =>
    edits.reduce((s, e) => {
      const at = s.length === 0 ? 0 : e.at % s.length;
      if (e.op === 'insert') return s.slice(0, at) + e.text + s.slice(at);
      if (e.op === 'delete') return s.slice(0, at) + s.slice(at + e.len);
      if (e.op === 'repeat') return s.slice(0, at) + s.slice(at, at + e.len).repeat(Math.min(e.times, 200)) + s.slice(at);
      return s.slice(0, at) + '['.repeat(e.times) + s.slice(at) + ']'.repeat(e.times);
    }, seed),
  );
}

/** Random text, random JSON documents, and mutations of the given valid examples. */
function inputsFrom(seeds: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 6 }).map((v) => JSON.stringify(v)) },
    { weight: 5, arbitrary: mutated(seeds) },
  );
}

const CONFIG_SEEDS = [
  'systemId: 4c1b6a9e-1c39-4b8f-9d0a-2f6f1b1e2a10\nhostname: ctl-1\novnRemote: [tcp:172.30.0.101:6642]\nencap: {type: geneve, ip: 172.30.0.101}\nbridgeMappings: {physnet1: br-ex}\ngateway: true\n',
  '{"systemId":"a","ovnRemote":"ssl:10.0.0.1:6642","ssl":{"privateKey":"/k","certificate":"/c","caCert":"/ca"},"encap":{"ip":["10.0.0.1","fd00::1"],"type":["geneve","vxlan"]},"cmsOptions":["x"],"extraExternalIds":{"k":"v"}}',
];

const INVENTORY_SEEDS = [
  'ovn: {southbound: [tcp:172.30.0.101:6642]}\ndefaults: {transport: {kind: ssh, user: root, privateKey: ~/.ssh/id}, agent: {backend: docker}}\ngroups: {gw: {gateway: true, bridgeMappings: {physnet1: br-ex}}}\nhosts: {ctl-1: {address: 172.30.0.101, groups: [gw]}, cmp-1: {address: 172.30.0.111, vars: {rack: r1}}}\n',
  '{"ovn":{"southbound":"ssl:1.2.3.4:6642","tls":{"privateKey":"k","certificate":"c","caCert":"ca"}},"hosts":{"a":{"address":"10.0.0.1","transport":{"kind":"local"},"agent":{"backend":"ovsdb","db":"unix:/x"}}}}',
];

const isConfigError = (e: unknown) => e instanceof ConfigError;

export function configTargets(): FuzzTarget[] {
  return [
    { name: 'chassis config (YAML/JSON)', inputs: inputsFrom(CONFIG_SEEDS), run: async (t) => check(chassisConfigSchema, parseYaml(t, 'fuzz'), 'fuzz'), expected: isConfigError },
    { name: 'inventory (YAML/JSON)', inputs: inputsFrom(INVENTORY_SEEDS), run: async (t) => checkInventory(parseYaml(t, 'fuzz'), 'fuzz'), expected: isConfigError },
  ];
}

/**
 * The agent's RPC as a hostile client speaks it, against a real backend. A
 * request that would run a hook (a command on the node) is never sent: hooks
 * are the controller's to give.
 */
export function agentRpcTarget(backend: Backend): FuzzTarget {
  const stateDir = tempDir('fuzz-rpc');
  const config = { systemId: 'fuzz-1', ovnRemote: 'tcp:192.0.2.1:6642', encap: { ip: '192.0.2.9' } };
  const seeds = [
    { id: 2, method: 'show' },
    { id: 3, method: 'diff', params: { config } },
    { id: 4, method: 'apply', params: { config: { ...config, gateway: true }, allowSystemIdChange: false } },
    { id: 5, method: 'restore', params: { keys: { 'ovn-encap-ip': null } } },
    { id: 6, method: 'facts' },
  ].map((r) => JSON.stringify(r));
  return {
    name: 'agent RPC requests',
    inputs: inputsFrom(seeds).filter((t) => !/"hook"/.test(t)),
    run: async (line) => {
      const session = new RpcSession({ backend, stateDir });
      await session.handle(JSON.stringify({ id: 1, method: 'hello', params: { protocol: 1, client: 'fuzz' } }));
      const res = await session.handle(line);
      if (res === null || typeof res !== 'object' || !('id' in res) || !('result' in res || 'error' in res)) throw new Error(`not an RPC response: ${preview(res)}`);
    },
    // The session answers every request: any exception escaping it is a crash.
    expected: () => false,
  };
}

/** A node's agent answering the controller with anything at all. */
export function agentAnswerTarget(): FuzzTarget {
  const plan = { inSync: true, changes: [], bridges: [], ports: [], warnings: [], adopted: [], refusals: [] };
  const seeds = [
    { id: 1, result: { applied: true, attempts: 1, plan, warnings: [], previous: { 'system-id': 'x' } } },
    { id: 1, result: { backend: 'b', externalIds: { a: 'b' }, managedKeys: ['a'], managedCmsTokens: [], bridges: { 'br-ex': ['p'] } } },
    { id: 1, error: { code: 'REFUSED', message: 'no' } },
    { id: 1, result: { hostname: 'h', fqdn: 'h.d', addresses: ['10.0.0.1'] } },
  ].map((r) => JSON.stringify(r));
  const methods = ['show', 'facts', 'apply', 'diff', 'rollback', 'restore'] as const;
  return {
    name: 'agent answers (a hostile node)',
    inputs: inputsFrom(seeds),
    run: async (answer) => {
      // The agent proved it speaks our protocol; what it says after that is hostile.
      const hello = (id: number) => JSON.stringify({ id, result: { protocol: PROTOCOL_VERSION, agent: 'fuzz', backend: 'b' } });
      const client = new AgentClient('fuzz-node', async (req) => (req.method === 'hello' ? hello(req.id) : answer.replace(/"id":1\b/, `"id":${req.id}`)), async () => {});
      for (const m of methods) {
        await (m === 'apply' || m === 'diff'
          ? client[m](chassisConfigSchema.parse({ systemId: 'a', ovnRemote: 'tcp:1.2.3.4:6642', encap: { ip: '10.0.0.1' } }))
          : m === 'restore'
            ? client.restore({ a: null })
            : client[m]()
        ).catch((err: unknown) => {
          if (!(err instanceof ControllerError)) throw err;
          if (/[\u0000-\u001f\u007f-\u009f]/.test(err.message)) throw new Error(`a control character from the node reached an error message: ${preview(err.message)}`);
        });
      }
    },
    expected: () => false,
  };
}

const VSWITCH_SCHEMA_JSON = '/usr/share/openvswitch/vswitch.ovsschema';

/** The OVSDB client's side of a hostile server: framing, JSON-RPC dispatch, monitor updates. */
export async function ovsdbTargets(): Promise<FuzzTarget[]> {
  const { readFileSync } = await import('node:fs');
  const schema = parseSchema(JSON.parse(readFileSync(VSWITCH_SCHEMA_JSON, 'utf8')));
  const U = '5a3b3f0e-8f43-4f0c-9a63-0d6f5a1c2b11';
  const updateSeeds = [
    { Bridge: { [U]: { insert: { name: 'br-ex', ports: ['set', []], external_ids: ['map', [['a', 'b']]] } } } },
    { Open_vSwitch: { [U]: { initial: { external_ids: ['map', [['system-id', 'x']]], next_cfg: 3 } } } },
    { Bridge: { [U]: { modify: { name: 'br-x' } } } },
  ].map((u) => JSON.stringify(u));
  const messageSeeds = [
    '{"id":1,"result":["Open_vSwitch"],"error":null}',
    '{"method":"update2","params":["m1",{}],"id":null}',
    '{"method":"echo","params":[],"id":"e"}',
    '{"id":1,"result":null,"error":{"error":"unknown database","details":"x"}}',
  ];
  const isOvsdb = (e: unknown) => e instanceof OvsdbError;
  return [
    {
      name: 'OVSDB framing',
      inputs: inputsFrom(messageSeeds),
      run: async (t) => {
        const f = new JsonFramer(1 << 20);
        const b = Buffer.from(t);
        for (let i = 0; i < b.length; i += 7) f.push(b.subarray(i, i + 7));
      },
      expected: isOvsdb,
    },
    {
      name: 'OVSDB replies and notifications',
      inputs: inputsFrom(messageSeeds),
      run: async (t) => {
        const socket = new PassThrough();
        const conn = new RpcConnection(socket);
        const closed = new Promise<unknown>((resolve) => conn.once('close', resolve));
        const pending = conn.request('list_dbs', [], { timeoutMs: 1000 }).catch((e: unknown) => {
          if (!isOvsdb(e)) throw e;
        });
        socket.emit('data', Buffer.from(t));
        socket.emit('data', Buffer.from('{"id":1,"result":[],"error":null}'));
        await pending;
        conn.close();
        const why = await closed;
        if (why !== undefined && !isOvsdb(why)) throw why as Error;
      },
      expected: isOvsdb,
    },
    {
      name: 'OVSDB monitor updates',
      inputs: inputsFrom(updateSeeds),
      run: async (t) => {
        const cache = new TableCache(schema, { Bridge: undefined, Open_vSwitch: undefined });
        let json: unknown;
        try {
          json = JSON.parse(t);
        } catch {
          return;
        }
        cache.applyUpdate2(json);
        cache.applyUpdate(json);
      },
      expected: isOvsdb,
    },
  ];
}

/** Files the tools read back: the rollout journal and the agent's snapshots. */
export function fileTargets(): FuzzTarget[] {
  const dir = tempDir('fuzz-files');
  const at = new Date().toISOString();
  const journalSeeds = [
    `${JSON.stringify({ type: 'start', at, inventory: 'i', digest: 'd', batches: [['a']], options: {} })}\n${JSON.stringify({ type: 'step', at, host: 'a', step: 'apply', phase: 'end', ok: true, previous: { k: null } })}\n`,
  ];
  const snapshotSeeds = [JSON.stringify({ version: 1, takenAt: at, backend: 'b', cause: 'apply', keys: { 'ovn-encap-ip': '10.0.0.1', x: null } })];
  let n = 0;
  return [
    {
      name: 'rollout journal',
      inputs: inputsFrom(journalSeeds),
      run: async (t) => {
        const p = join(dir, `j${n++}`);
        writeFileSync(p, t);
        try {
          readRecords(p);
        } finally {
          rmSync(p);
        }
      },
      expected: (e) => e instanceof ControllerError,
    },
    {
      name: 'agent snapshots',
      inputs: inputsFrom(snapshotSeeds),
      run: async (t) => {
        const state = join(dir, `s${n++}`);
        mkdirSync(join(state, 'snapshots'), { recursive: true, mode: 0o700 });
        writeFileSync(join(state, 'snapshots', '2026-01-01T000000Z-1-a.json'), t);
        try {
          await (await SnapshotStore.open(state)).lastApply();
        } finally {
          rmSync(state, { recursive: true });
        }
      },
      expected: (e) => e instanceof AgentError || e instanceof ConfigError,
    },
  ];
}
