import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { join } from 'node:path';
import { AgentError } from './errors.js';
import { checkSocketOwner } from './files.js';

/** Where an agent keeps snapshots and, when it serves, its desired config and RPC socket. */
export const DEFAULT_STATE_DIR = '/var/lib/ovn-chassis';

/** The serving agent's RPC socket in a state dir. */
export function agentSocketIn(stateDir: string): string {
  return join(stateDir, 'agent.sock');
}

/**
 * Connects to a serving agent's RPC socket. Undefined when no agent serves
 * there (no socket, or a stale one nobody listens on); any other failure is
 * an error, since guessing would let two agents fight over one node.
 */
export function connectServing(path: string): Promise<net.Socket | undefined> {
  try {
    checkSocketOwner(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return Promise.resolve(undefined);
    return Promise.reject(err);
  }
  return new Promise((resolve, reject) => {
    const sock = net.connect(path);
    sock.once('connect', () => resolve(sock));
    sock.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') resolve(undefined);
      else reject(new AgentError('UNREACHABLE', `cannot reach the serving agent at ${path}: ${err.message}`));
    });
  });
}

/** Passes a conversation through unchanged, both ways, until either side ends. */
export function relay(input: Readable, output: Writable, sock: net.Socket): Promise<void> {
  return new Promise((resolve) => {
    input.pipe(sock);
    sock.pipe(output, { end: false });
    sock.once('close', () => {
      input.unpipe(sock);
      input.pause();
      resolve();
    });
    sock.once('error', () => sock.destroy());
  });
}
