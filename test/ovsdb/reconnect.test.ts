import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsdbClient, OvsdbError, cond, mutate, setKeys, uuid, type RowChange } from '../../ovsdb/index.js';
import { OvsdbServer, run, waitFor } from '../../sandbox/index.js';

let server: OvsdbServer;

beforeAll(async () => {
  server = await OvsdbServer.start({ tcp: true });
});

afterAll(async () => {
  await server?.stop();
});

describe('reconnect', () => {
  for (const transport of ['unix', 'tcp'] as const) {
    it(`over ${transport}: survives the server being killed and restarted, re-issuing its monitor`, async () => {
      const client = await OvsdbClient.connect({
        endpoint: transport === 'unix' ? server.unix : server.tcp,
        reconnect: { minBackoffMs: 50, maxBackoffMs: 400 },
      });
      const events: string[] = [];
      client.on('disconnected', (e: OvsdbError) => events.push(`down:${e.code}`));
      client.on('reconnected', () => events.push('up'));
      const m = await client.monitor('Open_vSwitch', { Open_vSwitch: { columns: ['external_ids'] } });
      const changes: RowChange[] = [];
      m.on('change', (c: RowChange[]) => changes.push(...c));
      const root = m.rows('Open_vSwitch')[0]?._uuid as string;

      await server.stop('SIGKILL');
      await waitFor('disconnect', () => events.includes('down:CONNECTION_CLOSED'));
      // Written straight into the database file while no server runs: the resync must report it.
      run('ovsdb-tool', [
        'transact',
        `${server.dir}/db0.db`,
        JSON.stringify(['Open_vSwitch', mutate('Open_vSwitch', [], setKeys('external_ids', { [`offline_${transport}`]: 'yes' }))]),
      ]);
      const during = client.transact('Open_vSwitch', [
        mutate('Open_vSwitch', [cond('_uuid', '==', uuid(root))], setKeys('external_ids', { [`queued_${transport}`]: 'yes' })),
      ]);
      await new Promise((r) => setTimeout(r, 300));
      await server.launch();

      await during;
      await waitFor('reconnected', () => events.includes('up'));
      const offline = await waitFor('resync change', () =>
        changes.find((c) => c.kind === 'modify' && (c.new?.external_ids as Map<string, string>).get(`offline_${transport}`) === 'yes'),
      );
      expect(offline.table).toBe('Open_vSwitch');

      server.vsctl('set', 'Open_vSwitch', '.', `external_ids:after_${transport}=restart`);
      await waitFor('change after restart', () =>
        (m.rows('Open_vSwitch')[0]?.external_ids as Map<string, string>).get(`after_${transport}`) === 'restart',
      );
      expect(server.externalIds()[`queued_${transport}`]).toBe('yes');
      client.close();
    });
  }

  it('without reconnect, requests after a loss fail at once with NOT_CONNECTED', async () => {
    const client = await OvsdbClient.connect({ endpoint: server.unix });
    const down = new Promise((r) => client.once('disconnected', r));
    await server.restart();
    await down;
    const err = await client.listDbs().catch((e: unknown) => e);
    expect((err as OvsdbError).code).toBe('NOT_CONNECTED');
  });

  it('reports an endpoint nobody listens on as CONNECT_FAILED naming it', async () => {
    const err = await OvsdbClient.connect({ endpoint: `unix:${server.dir}/absent.sock` }).catch((e: unknown) => e);
    expect((err as OvsdbError).code).toBe('CONNECT_FAILED');
    expect((err as OvsdbError).message).toContain('absent.sock');
  });
});
