import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OvsdbClient, OvsdbError } from '../../ovsdb/index.js';
import { OvsdbServer, run, tempDir } from '../../sandbox/index.js';
import { makePki, type Pki } from '../../sandbox/index.js';
import { chmodSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';

let server: OvsdbServer;
let good: Pki;
let rogue: Pki;

beforeAll(async () => {
  const dir = tempDir('pki');
  good = makePki(dir, 'good');
  rogue = makePki(dir, 'rogue');
  server = await OvsdbServer.start({ ssl: { key: good.serverKey, cert: good.serverCert, ca: good.ca } });
});

afterAll(async () => {
  await server?.stop();
});

describe('ssl: endpoints', () => {
  it('connects with a client certificate and checks the server against the CA', async () => {
    const client = await OvsdbClient.connect({
      endpoint: server.ssl,
      tls: { key: good.clientKey, cert: good.clientCert, ca: good.ca },
    });
    expect(await client.listDbs()).toContain('Open_vSwitch');
    client.close();
  });

  it('refuses a server whose certificate does not chain to our CA', async () => {
    const err = await OvsdbClient.connect({
      endpoint: server.ssl,
      tls: { key: rogue.clientKey, cert: rogue.clientCert, ca: rogue.ca },
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OvsdbError);
    expect((err as OvsdbError).code).toBe('TLS_ERROR');
    expect((err as OvsdbError).message).toContain(server.ssl);
  });

  it('fails cleanly when the server refuses our certificate', async () => {
    // TLS 1.3 finishes the client side of the handshake before the server checks the client
    // certificate, so the refusal shows as a TLS error or as the server closing on us.
    const outcome = await OvsdbClient.connect({
      endpoint: server.ssl,
      tls: { key: rogue.clientKey, cert: rogue.clientCert, ca: good.ca },
      requestTimeoutMs: 5000,
    })
      .then((c) => c.listDbs().finally(() => c.close()))
      .catch((e: unknown) => e);
    expect(outcome).toBeInstanceOf(OvsdbError);
    expect(['TLS_ERROR', 'CONNECTION_CLOSED']).toContain((outcome as OvsdbError).code);
  });

  // N8: a key others can read is refused as ssh refuses one; a passphrase-protected key is named as such, not "bad decrypt".
  it('refuses a client key others can read, and one protected by a passphrase, naming the file and the cause; the passphrase never shown', async () => {
    const dir = tempDir('pki-keys');
    const open = join(dir, 'open.key');
    copyFileSync(good.clientKey, open);
    for (const mode of [0o644, 0o640]) {
      chmodSync(open, mode);
      const err = await OvsdbClient.connect({ endpoint: server.ssl, tls: { key: open, cert: good.clientCert, ca: good.ca } }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(`the private key ${open} can be read by ${mode & 0o004 ? 'everyone' : 'its group'} (mode ${mode.toString(8)})`) });
    }
    const locked = join(dir, 'locked.key');
    run('openssl', ['pkey', '-in', good.clientKey, '-aes256', '-passout', 'pass:hunter2-secret', '-out', locked]);
    chmodSync(locked, 0o600);
    const err = (await OvsdbClient.connect({ endpoint: server.ssl, tls: { key: locked, cert: good.clientCert, ca: good.ca } }).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(`the private key ${locked} is protected by a passphrase`) });
    expect(err.message).not.toContain('hunter2');
    expect(err.message).not.toMatch(/bad decrypt/);
  });

  it('asks for the TLS files when an ssl: endpoint has none', async () => {
    const err = await OvsdbClient.connect({ endpoint: server.ssl }).catch((e: unknown) => e);
    expect((err as OvsdbError).code).toBe('INVALID_ARGUMENT');
    expect((err as OvsdbError).message).toMatch(/--ssl-key/);
  });
});
