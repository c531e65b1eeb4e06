import { DEFAULT_STATE_DIR, RpcSession, openBackend } from '../../agent/index.js';
import { ControllerError } from '../errors.js';
import type { Host } from '../inventory.js';
import { AgentClient } from './client.js';
import { agentSocketOf, openSsh } from './ssh.js';
import { sshNode } from './ssh-node.js';

/**
 * Direct mode: nothing of ours on the node. The agent's own logic runs here,
 * on the node's OVSDB or Docker API through SSH forwards of their sockets,
 * with its snapshots written to the node's state dir over SFTP — so a
 * rollback finds them whichever way the change was made.
 */
export async function connectDirect(host: Host): Promise<AgentClient> {
  const { conn, where, t, lifeline } = await openSsh(host);
  const close = async () => {
    conn.end();
  };
  try {
    const node = await sshNode(conn, where, lifeline);
    // An agent serving there keeps its own desired config applied: two writers would fight over the node.
    const socket = agentSocketOf(t);
    if ((await node.files.lstat(socket))?.kind === 'socket') {
      throw new ControllerError('AGENT_SERVING', `${where}: an ovn-chassis-agent serves on ${socket}; drive this node through it (transport.via: agent), or remove it first (ovn-chassis agent remove)`);
    }
    let backend;
    try {
      backend = await openBackend(host.agent, { node });
    } catch (err) {
      throw new ControllerError('UNREACHABLE', `${where}: ${(err as Error).message}`, { cause: err });
    }
    const session = new RpcSession({ backend, node, stateDir: t.stateDir ?? DEFAULT_STATE_DIR });
    return AgentClient.inProcess(host.name, session, async () => {
      await backend.close();
      await close();
    });
  } catch (err) {
    await close();
    if (err instanceof ControllerError) throw err;
    throw new ControllerError('UNREACHABLE', `${where}: ${(err as Error).message}`, { cause: err });
  }
}
