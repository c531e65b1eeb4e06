import type { Socket } from 'node:net';
import { join } from 'node:path';
import { agentSocketIn, connectServing, DEFAULT_STATE_DIR, namespaceNode, openBackend, RpcSession } from '../../agent/index.js';
import type { Host } from '../inventory.js';
import { ControllerError } from '../errors.js';
import { AgentClient } from './client.js';
import { LineDemux } from './lines.js';

/**
 * The agent in-process against the node's OVSDB endpoint: one-node use, the
 * sandbox and tests. When an agent serves the same state dir, that one
 * answers instead, so the config it keeps applied follows ours.
 */
export async function connectLocal(host: Host, stateRoot = DEFAULT_STATE_DIR): Promise<AgentClient> {
  if (host.transport.kind !== 'local') throw new Error('connectLocal needs a local transport');
  const t = host.transport;
  const stateDir = t.stateDir ?? join(stateRoot, host.name);
  const serving = await connectServing(agentSocketIn(stateDir)).catch((err: Error) => {
    throw new ControllerError('UNREACHABLE', `${host.name}: ${err.message}`, { cause: err });
  });
  if (serving) return viaSocket(host, serving);
  let backend;
  try {
    backend = await openBackend(host.agent);
  } catch (err) {
    throw new ControllerError('UNREACHABLE', `${host.name}: ${(err as Error).message}`, { cause: err });
  }
  const session = new RpcSession({
    backend,
    stateDir,
    ...(t.netns ? { node: namespaceNode(t.netns) } : {}),
    ...(t.midonetHostIdFiles ? { midonetFiles: t.midonetHostIdFiles } : {}),
  });
  return AgentClient.inProcess(host.name, session, () => backend.close());
}

async function viaSocket(host: Host, sock: Socket): Promise<AgentClient> {
  const lines = new LineDemux(`${host.name} (the serving agent's socket)`);
  sock.on('data', (d: Buffer) => lines.feed(d));
  sock.on('close', () => lines.lose('the serving agent closed the connection'));
  sock.on('error', () => sock.destroy());
  return new AgentClient(host.name, lines.caller((line) => sock.write(line)), async () => {
    sock.end();
  });
}
