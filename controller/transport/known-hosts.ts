import { createHash, createHmac } from 'node:crypto';
import { homedir } from 'node:os';
import type { SshTransport } from '../../schemas/inventory.js';
import { globRegExp } from '../glob.js';

/** "SHA256:…" as OpenSSH prints it: base64 of the key blob's SHA-256, no padding. */
export function fingerprint(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The key type named inside an SSH public key blob (its first string). */
export function keyType(keyBlob: Buffer): string {
  const len = keyBlob.readUInt32BE(0);
  return keyBlob.subarray(4, 4 + len).toString('ascii');
}

/** How known_hosts names a host: "addr" on port 22, "[addr]:port" otherwise. */
export function knownHostsName(address: string, port: number): string {
  return port === 22 ? address : `[${address}]:${port}`;
}

function hostMatches(pattern: string, name: string): boolean {
  if (pattern.startsWith('|1|')) {
    const [, , salt, hash] = pattern.split('|');
    if (!salt || !hash) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  return globRegExp(pattern).test(name);
}

export type HostKeyVerdict = 'match' | 'changed' | 'revoked' | 'unknown';

/**
 * Checks a presented host key against known_hosts text, as OpenSSH does with
 * StrictHostKeyChecking=yes: a listed key of that type that differs is a
 * changed key (an error), an unlisted host is unknown (an error too — never a
 * prompt).
 */
export function checkKnownHosts(text: string, name: string, keyBlob: Buffer): HostKeyVerdict {
  const type = keyType(keyBlob);
  const b64 = keyBlob.toString('base64');
  let sawType = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    let fields = line.split(/\s+/);
    let marker = '';
    if (fields[0]?.startsWith('@')) {
      marker = fields[0];
      fields = fields.slice(1);
    }
    const [hosts, t, key] = fields;
    if (!hosts || !t || !key || marker === '@cert-authority') continue;
    const patterns = hosts.split(',');
    const negated = patterns.some((p) => p.startsWith('!') && hostMatches(p.slice(1), name));
    if (negated || !patterns.some((p) => !p.startsWith('!') && hostMatches(p, name))) continue;
    if (marker === '@revoked' && key === b64) return 'revoked';
    if (t !== type) continue;
    if (key === b64) return 'match';
    sawType = true;
  }
  return sawType ? 'changed' : 'unknown';
}

export const expandHome = (p: string) => (p.startsWith('~/') ? `${homedir()}${p.slice(1)}` : p);

/** The known-hosts file a transport checks host keys against: its own, or OpenSSH's default unless it pins fingerprints instead. */
export function knownHostsFileOf(t: Pick<SshTransport, 'knownHosts' | 'fingerprints'>): string | undefined {
  return t.knownHosts ?? (t.fingerprints ? undefined : '~/.ssh/known_hosts');
}
