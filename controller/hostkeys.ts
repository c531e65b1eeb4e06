import { ControllerError } from './errors.js';
import type { Host } from './inventory.js';
import { checkKnownHosts, fingerprint, keyType, knownHostsFileOf, knownHostsName } from './transport/known-hosts.js';

/** What a node's host key is against what the inventory trusts: already trusted, new (trust on first use), or different. */
export type HostKeyState = 'pinned' | 'added' | 'changed';

export interface ScannedKey {
  /** The known-hosts file this host's key belongs in (none: the transport pins fingerprints only). */
  file: string | undefined;
  /** How known_hosts names the host: "addr", or "[addr]:port". */
  name: string;
  key: Buffer;
}

export interface HostKeyResult {
  address: string;
  state: HostKeyState;
  fingerprint: string;
  /** The known-hosts file, when the key was checked against one. */
  file?: string;
}

/**
 * The host key a node's sshd presents, as ssh-keyscan reads it: the
 * handshake stops at the key, before any login is tried.
 */
export async function scanHostKey(host: Host, timeoutMs: number): Promise<ScannedKey> {
  const t = host.transport;
  if (t.kind !== 'ssh') throw new ControllerError('INVALID_CONFIG', `${host.name}: hostkeys needs an ssh transport (transport.kind is ${t.kind})`);
  const where = `${host.name} (${host.address}:${t.port})`;
  // ssh2 is loaded once a node is reached over SSH: loading it is a good part of every command's start-up.
  const { Client } = await import('ssh2');
  return new Promise((resolve, reject) => {
    const conn = new Client();
    let key: Buffer | undefined;
    const done = () => {
      conn.end();
      if (key) resolve({ file: knownHostsFileOf(t), name: knownHostsName(host.address, t.port), key });
      else reject(new ControllerError('UNREACHABLE', `${where}: no host key was presented`));
    };
    conn.once('error', (err: Error) => (key ? done() : reject(new ControllerError('UNREACHABLE', `${where}: ${err.message}`, { cause: err }))));
    conn.once('close', done);
    conn.connect({
      host: host.address,
      port: t.port,
      username: t.user,
      readyTimeout: Math.min(timeoutMs, t.connectTimeoutS * 1000),
      hostVerifier: (presented: Buffer) => {
        key = Buffer.from(presented);
        return false;
      },
    });
  });
}

/**
 * A scanned key judged against what is trusted for the host: the known-hosts
 * text of its file, or the fingerprints the inventory pins.
 */
export function judgeHostKey(scanned: ScannedKey, knownText: string, pinned: string[] = []): HostKeyState {
  if (pinned.includes(fingerprint(scanned.key))) return 'pinned';
  if (scanned.file === undefined) return 'changed';
  const verdict = checkKnownHosts(knownText, scanned.name, scanned.key);
  return verdict === 'match' ? 'pinned' : verdict === 'unknown' ? 'added' : 'changed';
}

/** The known_hosts line for a scanned key, as ssh-keyscan writes it. */
export const knownHostsLine = (s: ScannedKey) => `${s.name} ${keyType(s.key)} ${s.key.toString('base64')}`;
