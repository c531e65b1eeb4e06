import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import type { Facts } from '../schemas/rpc.js';
import type { Backend } from './state.js';

/** Where MidoNet keeps a host's identity: the current file first, then the legacy one. */
export const MIDONET_HOST_ID_FILES = ['/etc/midonet_host_id.properties', '/etc/midolman/host_uuid.properties'];

/** A host's name and its OVN version do not change within a fleet run: ask once a minute, not per node. */
const CACHE_MS = 60_000;
const cache = new Map<string, { at: number; value: Promise<string | undefined> }>();

function firstLine(cmd: string, args: string[]): Promise<string | undefined> {
  const key = [cmd, ...args].join(' ');
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.value;
  const value = new Promise<string | undefined>((resolve) => {
    execFile(cmd, args, { timeout: 5000 }, (err, stdout) => resolve(err ? undefined : stdout.split('\n')[0]?.trim() || undefined));
  });
  cache.set(key, { at: Date.now(), value });
  return value;
}

export function readMidonetHostId(files: string[]): string | undefined {
  for (const f of files) {
    let text: string;
    try {
      text = readFileSync(f, 'utf8');
    } catch {
      continue;
    }
    const m = /^\s*host_uuid\s*=\s*([0-9a-fA-F-]{36})\s*$/m.exec(text);
    if (m) return (m[1] as string).toLowerCase();
  }
  return undefined;
}

/** What the controller checks before it writes: who this node is and which addresses it has. */
export async function gatherFacts(backend: Backend, midonetFiles = MIDONET_HOST_ID_FILES): Promise<Facts> {
  const addresses = Object.values(networkInterfaces())
    .flatMap((list) => list ?? [])
    .map((a) => a.address);
  const [fqdn, ovsVersion, ovn] = await Promise.all([
    firstLine('hostname', ['--fqdn']),
    backend.ovsVersion().catch(() => undefined),
    firstLine('ovn-controller', ['--version']),
  ]);
  const midonetHostId = readMidonetHostId(midonetFiles);
  const ovnVersion = ovn ? /(\d+\.\d+\.\d+)/.exec(ovn)?.[1] : undefined;
  return {
    hostname: hostname(),
    fqdn: fqdn ?? hostname(),
    addresses: [...new Set(addresses)],
    ...(ovsVersion ? { ovsVersion } : {}),
    ...(ovnVersion ? { ovnVersion } : {}),
    ...(midonetHostId ? { midonetHostId } : {}),
  };
}
