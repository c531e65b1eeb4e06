import { join } from 'node:path';
import { openBackend } from '../../agent/backends/open.js';
import { RpcSession } from '../../agent/rpc.js';
import type { Host } from '../inventory.js';
import { ControllerError } from '../errors.js';
import { AgentClient } from './client.js';

/** The agent in-process against the node's OVSDB endpoint: one-node use, the sandbox and tests. */
export async function connectLocal(host: Host, stateRoot = '/var/lib/ovn-chassis'): Promise<AgentClient> {
  if (host.transport.kind !== 'local') throw new Error('connectLocal needs a local transport');
  let backend;
  try {
    backend = await openBackend(host.agent);
  } catch (err) {
    throw new ControllerError('UNREACHABLE', `${host.name}: ${(err as Error).message}`, { cause: err });
  }
  const t = host.transport;
  const session = new RpcSession({
    backend,
    stateDir: t.stateDir ?? join(stateRoot, host.name),
    ...(t.midonetHostIdFiles ? { midonetFiles: t.midonetHostIdFiles } : {}),
  });
  const client = new AgentClient(host.name, async (req) => JSON.stringify(await session.handle(JSON.stringify(req))), () => backend.close());
  await client.hello();
  return client;
}
