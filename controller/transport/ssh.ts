import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import ssh2, { Client, type ClientChannel, type ConnectConfig, type ParsedKey, type PublicKeyAuthMethod } from 'ssh2';
import type { Logger } from '../../common/log.js';
import { agentSocketIn, DEFAULT_STATE_DIR } from '../../agent/index.js';
import { backendArgs } from '../../schemas/backend.js';
import type { SshTransport } from '../../schemas/inventory.js';
import { ControllerError } from '../errors.js';
import type { Host } from '../inventory.js';
import { AgentClient } from './client.js';
import { checkKnownHosts, expandHome as expand, fingerprint, knownHostsFileOf, knownHostsName } from './known-hosts.js';
import { Lifeline } from './lifeline.js';
import { signingKey } from './signing-key.js';
import { LineDemux } from './lines.js';

/**
 * SSH carries a command as one string that the node's login shell splits, so
 * each argument is single-quoted: what runs is exactly the argument vector.
 */
export function shellQuote(args: string[]): string {
  return args.map((a) => (/^[A-Za-z0-9_@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

export function agentCommand(host: Host, t: SshTransport): string[] {
  return [...(t.agentCommand ?? ['ovn-chassis-agent']), 'rpc', ...backendArgs(host.agent), ...(t.stateDir ? ['--state-dir', t.stateDir] : [])];
}

/** Where a node's `ovn-chassis-agent serve` listens unless the transport says otherwise. */
export function agentSocketOf(t: SshTransport): string {
  return t.agentSocket ?? agentSocketIn(t.stateDir ?? DEFAULT_STATE_DIR);
}

/**
 * A file read once per command, however many nodes use it: a fleet shares a
 * key and a known_hosts file, and reading and decoding them per node was a
 * good part of each connection's cost. Read again when the file changes.
 */
const files = new Map<string, { mtimeMs: number; size: number; text: Buffer }>();
function readOnce(path: string): Buffer {
  const st = statSync(path);
  const known = files.get(path);
  if (known && known.mtimeMs === st.mtimeMs && known.size === st.size) return known.text;
  const text = readFileSync(path);
  files.set(path, { mtimeMs: st.mtimeMs, size: st.size, text });
  return text;
}

/** Private keys decoded once per file and passphrase (the passphrase only as a hash in the key of this map). */
const parsedKeys = new Map<string, { text: Buffer; key: ParsedKey }>();
function privateKeyOf(path: string, passphrase: string | undefined, where: string): ParsedKey {
  const text = readOnce(path);
  const id = `${path}\0${passphrase === undefined ? '' : createHash('sha256').update(passphrase).digest('hex')}`;
  const known = parsedKeys.get(id);
  if (known && known.text === text) return known.key;
  // Node's ES module loader does not see ssh2's utils as a named export of the CommonJS package.
  const parsed = ssh2.utils.parseKey(text, passphrase);
  if (parsed instanceof Error) throw new ControllerError('AUTH_FAILED', `${where}: cannot use private key ${path}: ${parsed.message}`);
  const key = signingKey(Array.isArray(parsed) ? (parsed[0] as ParsedKey) : parsed);
  parsedKeys.set(id, { text, key });
  return key;
}

/**
 * An SSH connection to a node: key auth (a key file or ssh-agent), the host
 * key checked against known_hosts or pinned fingerprints before anything is
 * sent — an unknown or changed key is an error, never a prompt.
 */
export async function openSsh(host: Host): Promise<{ conn: Client; where: string; t: SshTransport; lifeline: Lifeline }> {
  const t = host.transport;
  if (t.kind !== 'ssh') throw new ControllerError('INVALID_CONFIG', `${host.name}: this needs an ssh transport`);
  const where = `${host.name} (${host.address}:${t.port})`;
  let refusal: ControllerError | undefined;
  const knownHosts = knownHostsFileOf(t);
  let knownText = '';
  if (knownHosts) {
    try {
      knownText = readOnce(expand(knownHosts)).toString('utf8');
    } catch (err) {
      throw new ControllerError('HOST_KEY_UNKNOWN', `${where}: cannot read known_hosts ${knownHosts}: ${(err as Error).message}`);
    }
  }
  const config: ConnectConfig = {
    host: host.address,
    port: t.port,
    username: t.user,
    readyTimeout: t.connectTimeoutS * 1000,
    hostVerifier: (key: Buffer) => {
      const fp = fingerprint(key);
      if (t.fingerprints?.includes(fp)) return true;
      const verdict = knownHosts ? checkKnownHosts(knownText, knownHostsName(host.address, t.port), key) : 'unknown';
      if (verdict === 'match') return true;
      refusal =
        verdict === 'changed' || verdict === 'revoked'
          ? new ControllerError('HOST_KEY_CHANGED', `${where}: the host key ${verdict === 'revoked' ? 'is revoked' : 'has CHANGED'}: it presented ${fp}, which ${knownHosts ?? 'the pinned fingerprints'} do not list for it. Refusing to connect (a changed key can mean someone is in the middle).`)
          : new ControllerError('HOST_KEY_UNKNOWN', `${where}: unknown host key ${fp}; add it to ${knownHosts ?? 'known_hosts'} or pin it in transport.fingerprints after checking it on the node`);
      return false;
    },
  };
  if (t.privateKey) {
    let key: ParsedKey;
    try {
      key = privateKeyOf(expand(t.privateKey), t.passphrase, where);
    } catch (err) {
      if (err instanceof ControllerError) throw err;
      throw new ControllerError('AUTH_FAILED', `${where}: cannot read private key ${t.privateKey}: ${(err as Error).message}`);
    }
    // The one way we log in, straight away (ssh2 would first try "none", a round trip per node to be refused), with the key decoded once.
    const method: PublicKeyAuthMethod = { type: 'publickey', username: t.user, key };
    config.authHandler = [method];
  } else {
    const agent = t.agent ?? process.env.SSH_AUTH_SOCK;
    if (!agent) throw new ControllerError('AUTH_FAILED', `${where}: no privateKey in the transport and no ssh-agent (SSH_AUTH_SOCK)`);
    config.agent = agent;
    config.authHandler = ['agent'];
  }

  const conn = new Client();
  let lifeline: Lifeline | undefined;
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error & { level?: string }) => {
      if (refusal) reject(refusal);
      else if (err.level === 'client-authentication') reject(new ControllerError('AUTH_FAILED', `${where}: the node refused our key for user ${t.user}`));
      else reject(new ControllerError('UNREACHABLE', `${where}: ${err.message}`, { cause: err }));
    };
    // A peer that goes away mid-handshake may only close: ssh2 then says nothing else, and stops its ready timer.
    const closed = () => reject(new ControllerError('UNREACHABLE', `${where}: the connection closed during the SSH handshake`));
    conn.once('error', failed);
    conn.once('close', closed);
    conn.once('ready', () => {
      conn.off('error', failed);
      conn.off('close', closed);
      // Made in the same tick as the session: nothing can drop unseen between them.
      lifeline = new Lifeline(conn, where);
      resolve();
    });
    conn.connect(config);
  });
  return { conn, where, t, lifeline: lifeline as Lifeline };
}

/**
 * One SSH connection per node, reused for all its requests: JSON lines to the
 * node's agent — the serving one when there is one, so the config it keeps
 * applied follows ours.
 */
export async function connectSsh(host: Host, log?: Logger): Promise<AgentClient> {
  const { conn, where, t } = await openSsh(host);
  const channel = await openAgentChannel(conn, host, t, where, log);

  const lines = new LineDemux(where);
  let stderr = '';
  channel.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  channel.on('data', (d: Buffer) => lines.feed(d));
  const drop = (why: string) => lines.lose(`${why}${stderr.trim() ? `; the agent said: ${stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
  channel.on('close', () => drop('the connection to the agent closed'));
  conn.on('close', () => drop('the SSH connection dropped'));
  conn.on('error', (err: Error) => drop(`SSH error: ${err.message}`));

  return new AgentClient(host.name, lines.caller((line) => channel.write(line)), async () => {
    channel.end();
    conn.end();
  });
}

/**
 * The serving agent's socket through a streamlocal forward when one serves
 * there (refused when nothing does, or the sshd forbids forwarding), else the
 * agent's `rpc` on an exec channel.
 */
async function openAgentChannel(conn: Client, host: Host, t: SshTransport, where: string, log?: Logger): Promise<ClientChannel> {
  const socket = agentSocketOf(t);
  const forwarded = await new Promise<ClientChannel | undefined>((resolve) => {
    conn.openssh_forwardOutStreamLocal(socket, (err, ch) => resolve(err ? undefined : ch));
  });
  if (forwarded) {
    log?.debug({ host: host.name, socket }, 'talking to the serving agent through a streamlocal forward');
    return forwarded;
  }
  return new Promise((resolve, reject) => {
    conn.exec(shellQuote(agentCommand(host, t)), (err, ch) => (err ? reject(new ControllerError('UNREACHABLE', `${where}: cannot start the agent: ${err.message}`)) : resolve(ch)));
  });
}
