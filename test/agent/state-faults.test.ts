import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apply, rollback } from '../../agent/apply.js';
import { OvsdbBackend } from '../../agent/backends/ovsdb.js';
import { Daemon } from '../../agent/daemon.js';
import { createLogger } from '../../common/log.js';
import { SnapshotStore } from '../../agent/snapshots.js';
import { chassisConfigSchema } from '../../schemas/chassis.js';
import { OvsdbServer, tempDir, waitFor } from '../../sandbox/index.js';
import { helloThen } from '../support/serving.js';

/**
 * What the agent's own files do to it when they go wrong: a damaged
 * snapshot, a snapshot left by a crash, a file it cannot write after the
 * node was changed. "Exit 1 means nothing changed" must hold, or the answer
 * must say what did change.
 */
let server: OvsdbServer;
let backend: OvsdbBackend;
const cfg = (ip: string, systemId = 'faults-1') => chassisConfigSchema.parse({ systemId, ovnRemote: 'tcp:192.0.2.1:6642', encap: { ip } });
const log = createLogger('test', 'silent');

beforeAll(async () => {
  server = await OvsdbServer.start();
  backend = await OvsdbBackend.connect(server.unix);
});

afterAll(async () => {
  await backend?.close();
  await server?.stop();
});

describe('the agent\'s state dir gone wrong', () => {
  it('a corrupt newest snapshot is set aside with a warning; applies (and so drift repair) go on', async () => {
    const stateDir = tempDir('state');
    await apply(backend, cfg('192.0.2.1'), { stateDir });
    const snaps = join(stateDir, 'snapshots');
    writeFileSync(join(snaps, 'q0000000009-corrupt.json'), '{"version": 1, "keys": ');
    const res = await apply(backend, cfg('192.0.2.2'), { stateDir });
    expect(res.applied).toBe(true);
    expect(res.warnings.join('\n')).toMatch(/q0000000009-corrupt\.json is unreadable.*moved to .*corrupt/);
    expect(server.externalIds()['ovn-encap-ip']).toBe('192.0.2.2');
    expect(readdirSync(join(snaps, 'corrupt'))).toEqual(['q0000000009-corrupt.json']);
    expect((await apply(backend, cfg('192.0.2.3'), { stateDir })).warnings).toEqual([]);
  });

  // N7: a damaged snapshot is a gap in the history; rolling back across it would undo two applies, the later only in part.
  it('rollback stops at a damaged snapshot, and again before the level behind it, until a person moves it away', async () => {
    const stateDir = tempDir('state');
    server.vsctl('clear', 'Open_vSwitch', '.', 'external_ids');
    await apply(backend, cfg('192.0.2.31'), { stateDir });
    await apply(backend, cfg('192.0.2.32'), { stateDir });
    const snaps = join(stateDir, 'snapshots');
    const [, second] = readdirSync(snaps).filter((f) => f.endsWith('.json')).sort();
    writeFileSync(join(snaps, second as string), '{"version": 1, "keys": ');
    const at = server.externalIds();
    await expect(rollback(backend, { stateDir })).rejects.toMatchObject({ code: 'NO_SNAPSHOT', message: expect.stringMatching(/unreadable.*nothing was rolled back/) });
    await expect(rollback(backend, { stateDir })).rejects.toMatchObject({ code: 'NO_SNAPSHOT', message: expect.stringMatching(/snapshot of a later apply is damaged .*nothing was rolled back/) });
    expect(server.externalIds()).toEqual(at);
    // An apply after the gap is still undone on its own, and the gap holds behind it.
    await apply(backend, cfg('192.0.2.33'), { stateDir });
    expect((await rollback(backend, { stateDir })).restored).toMatchObject({ 'ovn-encap-ip': '192.0.2.32' });
    await expect(rollback(backend, { stateDir })).rejects.toMatchObject({ code: 'NO_SNAPSHOT' });
    // Moved away by a person, the level before it is restored.
    rmSync(join(snaps, 'corrupt', second as string));
    expect((await rollback(backend, { stateDir })).restored).toMatchObject({ 'system-id': null });
  });

  it('rollback after a crash between snapshot and write passes over the snapshot the node still matches, and restores the real level', async () => {
    const stateDir = tempDir('state');
    await apply(backend, cfg('192.0.2.10'), { stateDir });
    await apply(backend, cfg('192.0.2.11'), { stateDir });
    // What a SIGKILL after the snapshot of a third apply, before its write, leaves behind.
    await (await SnapshotStore.open(stateDir)).save({ version: 1, takenAt: new Date(Date.now() + 1000).toISOString(), backend: backend.description, cause: 'apply', keys: { 'ovn-encap-ip': '192.0.2.11' } });
    const res = await rollback(backend, { stateDir });
    expect(res.passedOver).toHaveLength(1);
    expect(res.restored).toMatchObject({ 'ovn-encap-ip': '192.0.2.10' });
    expect(server.externalIds()['ovn-encap-ip']).toBe('192.0.2.10');
  });

  it('passes over such a snapshot even when neutron changed its ovn-cms-options tokens since (found by the property test)', async () => {
    const stateDir = tempDir('state');
    server.vsctl('clear', 'Open_vSwitch', '.', 'external_ids');
    await (await SnapshotStore.open(stateDir)).save({ version: 1, takenAt: new Date().toISOString(), backend: backend.description, cause: 'apply', keys: { 'ovn-cms-options': null, 'ovn-chassis-managed-cms': null } });
    server.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-cms-options=resource_provider_packet_processing_without_direction=9');
    await expect(rollback(backend, { stateDir })).rejects.toThrow(/nothing to roll back: .*1 passed over/);
    expect(server.externalIds()['ovn-cms-options']).toBe('resource_provider_packet_processing_without_direction=9');
  });

  it('says "nothing to roll back" rather than "restored" when every snapshot left is one the node already matches', async () => {
    const stateDir = tempDir('state');
    await (await SnapshotStore.open(stateDir)).save({ version: 1, takenAt: new Date().toISOString(), backend: backend.description, cause: 'apply', keys: { 'ovn-encap-ip': server.externalIds()['ovn-encap-ip'] ?? null } });
    await expect(rollback(backend, { stateDir })).rejects.toThrow(/nothing to roll back: the node already holds the values of every snapshot left \(1 passed over\)/);
  });

  it('a system-id.conf it cannot rewrite after the OVSDB write is a warning on a successful apply, not a failure', async () => {
    const stateDir = tempDir('state');
    const conf = join(stateDir, 'system-id.conf');
    // A directory where the file should be: the rename over it fails, as on a read-only /etc.
    mkdirSync(join(conf, 'blocked'), { recursive: true });
    await apply(backend, cfg('192.0.2.10', 'faults-1'), { stateDir, allowSystemIdChange: true });
    const res = await apply(backend, cfg('192.0.2.10', 'faults-2'), { stateDir, allowSystemIdChange: true, systemIdConfPath: conf });
    expect(res.applied).toBe(true);
    expect(server.externalIds()['system-id']).toBe('faults-2');
    expect(res.warnings.join('\n')).toMatch(/now has system-id faults-2, but .*system-id\.conf could not be updated/);
  });
});

describe('a serving agent that cannot save its desired config', () => {
  it('answers the RPC apply as done with a warning, and keeps the new config applied (no revert)', async () => {
    const stateDir = tempDir('serve-faults');
    const daemon = new Daemon({ config: cfg('192.0.2.20', 'faults-2'), backend: { backend: 'ovsdb', db: server.unix }, stateDir, log });
    await daemon.start();
    try {
      rmSync(join(stateDir, 'desired.json'));
      mkdirSync(join(stateDir, 'desired.json', 'blocked'), { recursive: true });
      const answers = await helloThen(daemon.socketPath, { id: 2, method: 'apply', params: { config: cfg('192.0.2.21', 'faults-2') } });
      expect(answers[1]?.result?.applied).toBe(true);
      expect(answers[1]?.result?.warnings.join('\n')).toMatch(/keeps the new config applied, but could not save it/);
      server.vsctl('set', 'Open_vSwitch', '.', 'external_ids:ovn-encap-ip=10.1.1.1');
      await waitFor('drift repaired to the NEW config', () => server.externalIds()['ovn-encap-ip'] === '192.0.2.21');
    } finally {
      await daemon.stop();
    }
    expect(existsSync(daemon.socketPath)).toBe(false);
  });
});
