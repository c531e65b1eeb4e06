import type { Facts } from '../schemas/rpc.js';
import { type NodeAccess, type NodeInterface, localNode } from './node.js';
import type { Backend } from './state.js';

/** Where MidoNet keeps a host's identity: the current file first, then the legacy one. */
export const MIDONET_HOST_ID_FILES = ['/etc/midonet_host_id.properties', '/etc/midolman/host_uuid.properties'];

/** A host's name, addresses and OVS and OVN versions do not change within a fleet run: ask once a minute, not per request. */
const CACHE_MS = 60_000;
const caches = new WeakMap<NodeAccess, Map<string, { at: number; value: Promise<unknown> }>>();

/** A fact of the node, asked at most once a minute (one node's facts, whoever asks). */
function cached<T>(node: NodeAccess, key: string, ask: () => Promise<T>): Promise<T> {
  const cache = caches.get(node) ?? new Map<string, { at: number; value: Promise<unknown> }>();
  caches.set(node, cache);
  const hit = cache.get(key);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.value as Promise<T>;
  const value = ask();
  cache.set(key, { at: Date.now(), value });
  return value;
}

function firstLine(node: NodeAccess, argv: string[]): Promise<string | undefined> {
  return cached(node, argv.join(' '), () =>
    node.run(argv, 5000).then(
      (r) => (r.code === 0 ? r.stdout.split('\n')[0]?.trim() || undefined : undefined),
      () => undefined,
    ),
  );
}

/** A MidoNet properties file is tiny; a larger one is not what we look for. */
const MAX_PROPERTIES_BYTES = 64 * 1024;

async function readMidonetHostId(node: NodeAccess, files: string[]): Promise<string | undefined> {
  for (const f of files) {
    let text: string;
    try {
      const st = await node.files.lstat(f);
      if (st?.kind !== 'file' || st.size > MAX_PROPERTIES_BYTES) continue;
      text = await node.files.read(f, MAX_PROPERTIES_BYTES);
    } catch {
      continue;
    }
    const m = /^\s*host_uuid\s*=\s*([0-9a-fA-F-]{36})\s*$/m.exec(text);
    if (m) return (m[1] as string).toLowerCase();
  }
  return undefined;
}

/** The node's interfaces and their addresses. */
export function interfacesOf(node: NodeAccess): Promise<NodeInterface[]> {
  return cached(node, 'interfaces', () => node.interfaces());
}

/** The node's OVN version, from its ovn-controller (undefined when there is none to ask, as in a container of its own). */
export async function ovnVersionOf(node: NodeAccess = localNode): Promise<string | undefined> {
  const line = await firstLine(node, ['ovn-controller', '--version']);
  return line ? /(\d+\.\d+\.\d+)/.exec(line)?.[1] : undefined;
}

/** What the controller checks before it writes: who this node is and which addresses it has. */
export async function gatherFacts(backend: Backend, node: NodeAccess = localNode, midonetFiles = MIDONET_HOST_ID_FILES): Promise<Facts> {
  const [name, addresses, fqdn, ovsVersion, ovnVersion, midonetHostId] = await Promise.all([
    cached(node, 'hostname', () => node.hostname()),
    interfacesOf(node).then((list) => [...new Set(list.flatMap((i) => i.addresses.map((a) => a.address)))]),
    firstLine(node, ['hostname', '--fqdn']),
    cached(node, `ovs-version ${backend.description}`, () => backend.ovsVersion().catch(() => undefined)),
    ovnVersionOf(node),
    cached(node, `midonet ${midonetFiles.join(' ')}`, () => readMidonetHostId(node, midonetFiles)),
  ]);
  return {
    hostname: name,
    fqdn: fqdn ?? name,
    addresses,
    ...(ovsVersion ? { ovsVersion } : {}),
    ...(ovnVersion ? { ovnVersion } : {}),
    ...(midonetHostId ? { midonetHostId } : {}),
  };
}
