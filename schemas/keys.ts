import { isIP } from 'node:net';
import { z } from 'zod';
import { asList, azName, bridgeMappings, bridgeName, encapIpSpec, encapType, endpoints, hostname, mac, physnetName, systemId, token, unicastAddress } from './values.js';

/**
 * Every chassis setting the agent writes, one row each: the config field, the
 * Open_vSwitch key or ovn-cms-options token it becomes, how its value is
 * checked, written and read back, and which OVN versions read it. Render,
 * import, the reserved keys, the version warnings, validate's findings and
 * the manual's table (docs/agent.md) all come from here: adding a key is adding a row.
 */

/** Which ovn-controller versions act on a key (ovn-controller(8), NEWS). */
export interface OvnVersions {
  /** First release that reads it. */
  since?: string;
  /** From this release on it is read but has no effect. */
  ignoredSince?: string;
  /** From this release on it is not read at all. */
  removedIn?: string;
  /** ovn-controller has never read it (other tools may). */
  neverRead?: true;
}

/** One key-valued setting (an external_ids key, or an other_config one as OTHER_CONFIG_SETTING + key): its field schema (optional unless required), how it is written and read back. */
export interface KeyDef<S extends z.ZodType = z.ZodType> {
  kind: 'key';
  key: string;
  field: S;
  encode: (value: Exclude<z.output<S>, undefined>) => string;
  /** The field's value as the key's text says it; a value the schema then refuses is not imported. */
  decode: (text: string) => unknown;
  /** Two spellings ovn-controller reads the same (not a change). */
  same?: (a: string, b: string) => boolean;
  ovn?: OvnVersions;
  doc: string;
}

/** One setting kept as ovn-cms-options tokens (shared with neutron, edited token by token). */
export interface TokenDef<S extends z.ZodType = z.ZodType> {
  kind: 'token';
  /** The token, or its name up to "=" for a token that carries a value. */
  token: string;
  field: S;
  encode: (value: Exclude<z.output<S>, undefined>) => string[];
  /** Whether a token is this setting's. */
  owns: (token: string) => boolean;
  /** The value from the tokens this setting owns; undefined when none say anything. */
  decode: (tokens: string[]) => unknown;
  doc: string;
}

/**
 * Tokens of kinds neutron writes itself (QoS placement, SmartNIC serial): a
 * config may own them, but one found on a node is neutron's unless the node's
 * ownership record says a config of ours wrote it.
 */
export const NEUTRON_TOKEN = /^(resource_provider_|card-serial-number=)/;

/** Settings that sit together under one config field (encap.ip, lflowCache.limit). */
export interface GroupDef<E extends Record<string, Def>, S extends z.ZodType> {
  kind: 'group';
  entries: E;
  field: S;
}

export type Def = KeyDef | TokenDef | GroupDef<Record<string, Def>, z.ZodType>;

/**
 * Settings that live beside external_ids, named so they cannot be external_ids
 * keys of ours: Open_vSwitch.other_config keys (hardware offload, DPDK) as
 * OTHER_CONFIG_SETTING + key, and each Manager target (the local OVSDB
 * remotes nova/os-vif and the metadata agent use) as MANAGER_SETTING + target.
 */
export const OTHER_CONFIG_SETTING = '@other_config:';
export const MANAGER_SETTING = '@Manager:';

/** A CPU mask as Open vSwitch reads it (hexadecimal, 0x optional). */
const cpuMask = z
  .string()
  .regex(/^(0x)?[0-9a-fA-F]{1,64}$/, 'is not a hexadecimal CPU mask (e.g. 0x3)')
  .refine((s) => /[1-9a-fA-F]/.test(s.replace(/^0x/, '')), 'names no CPU (a mask of 0 would leave the threads nowhere to run)');
/** An OVSDB remote a Manager row holds: passive (ptcp, pssl, punix) or active. */
export const managerTarget = z.string().superRefine((s, ctx) => {
  const why = managerProblem(s);
  if (why) ctx.addIssue({ code: 'custom', message: why, input: s });
});

/** Where ovsdb-server may be asked to make a socket: its own run directory, never an arbitrary path (it replaces whatever is there). */
export const MANAGER_SOCKET_DIRS = ['/run/openvswitch/', '/var/run/openvswitch/'];

/**
 * Why a Manager target is refused, or undefined. ovsdb-server (root) acts on
 * it: a punix: path is unlinked and made a socket, a ptcp: with no address
 * listens, unauthenticated, on every interface.
 */
export function managerProblem(s: string): string | undefined {
  const example = 'e.g. ptcp:6640:127.0.0.1, punix:/run/openvswitch/db.sock';
  const m = /^(p?tcp|p?ssl|p?unix):(.*)$/.exec(s);
  if (!m || /[\s,]/.test(s)) return `is not an OVSDB remote (${example})`;
  const [, kind, rest] = m as unknown as [string, string, string];
  if (kind.endsWith('unix')) {
    if (!rest.startsWith('/') || rest.split('/').some((part) => part === '..' || part === '.')) return 'names a socket path that is not absolute and plain (no . or ..)';
    if (kind === 'punix' && !MANAGER_SOCKET_DIRS.some((d) => rest.startsWith(d) && rest.length > d.length && !rest.slice(d.length).includes('/'))) {
      return `names a socket outside Open vSwitch's run directory (${MANAGER_SOCKET_DIRS.join(' or ')}): ovsdb-server would replace whatever file is there`;
    }
    return undefined;
  }
  // tcp:IP:PORT, ssl:IP:PORT; ptcp:PORT[:IP], pssl:PORT[:IP] (an IPv6 address in brackets).
  const passive = kind.startsWith('p');
  const parts = /^(?:(\d+)(?::(.+))?)$/.exec(passive ? rest : rest.replace(/^(.*):(\d+)$/, '$2:$1'));
  const port = Number(parts?.[1]);
  const host = parts?.[2]?.replace(/^\[(.*)\]$/, '$1');
  if (!parts || !Number.isInteger(port) || port < 1 || port > 65535) return `has no port from 1 to 65535 (${example})`;
  if (host !== undefined && isIP(host) === 0) return `names "${host}", which is not an IP address`;
  if (!passive && host === undefined) return 'names no address to connect to';
  if (kind === 'ptcp' && (host === undefined || host === '0.0.0.0' || host === '::')) {
    return 'listens on every interface: anyone who reaches the node could change its Open vSwitch unauthenticated; name the address (e.g. ptcp:6640:127.0.0.1)';
  }
  return undefined;
}

/** The IPs of an encap.ip that names them; one found on the node must be resolved there first. */
export function concrete(v: z.output<typeof encapIpSpec>): string[] {
  const ips = namedIps(v);
  if (!ips) throw new Error(`encap.ip ${JSON.stringify(v)} is resolved on the node, not here`);
  return ips;
}

/** The encap IPs a config names, or undefined when they are found on the node (an interface or a network). */
export function namedIps(v: z.output<typeof encapIpSpec>): string[] | undefined {
  return typeof v === 'string' || Array.isArray(v) ? asList(v) : undefined;
}

const split = (text: string) => text.split(',').map((s) => s.trim()).filter(Boolean);
/** One value, or a list when there are several (how the config spells endpoints, encap types and IPs). */
const oneOrList = (text: string) => {
  const v = split(text);
  return v.length === 1 ? v[0] : v;
};
const joined = (v: string | string[]) => asList(v).join(',');
const pairs = (text: string) => Object.fromEntries(split(text).map((e) => [e.slice(0, e.indexOf(':')), e.slice(e.indexOf(':') + 1)]));
const bool = (text: string) => (text === 'true' ? true : text === 'false' ? false : text);
const int = (text: string) => (/^-?\d+$/.test(text) ? Number(text) : text);
const same = (t: string) => t;

function key<S extends z.ZodType>(k: string, field: S, encode: KeyDef<S>['encode'], decode: (text: string) => unknown, doc: string, more: { ovn?: OvnVersions; same?: (a: string, b: string) => boolean } = {}): KeyDef<S> {
  return { kind: 'key', key: k, field, encode, decode, doc, ...more };
}

const boolKey = (k: string, doc: string, ovn?: OvnVersions) => key(k, z.boolean().optional(), (b) => (b ? 'true' : 'false'), bool, doc, ovn ? { ovn } : {});

const intKey = (k: string, doc: string, limits: { min: number; max?: number }, ovn?: OvnVersions) =>
  key(k, (limits.max === undefined ? z.number().int().min(limits.min) : z.number().int().min(limits.min).max(limits.max)).optional(), String, int, doc, ovn ? { ovn } : {});

function group<E extends Record<string, Def>>(entries: E) {
  return { kind: 'group' as const, entries, field: z.strictObject(shapeOf(entries)) };
}

function optionalGroup<E extends Record<string, Def>>(entries: E) {
  const g = group(entries);
  return { ...g, field: g.field.optional() };
}

/**
 * The Open_vSwitch external_ids keys of a chassis, by config field.
 * Versions from ovn-controller(8) and OVN's NEWS.
 */
export const KEYS = {
  systemId: key('system-id', systemId, same, same, 'the chassis name in the Southbound; kept in step with /etc/openvswitch/system-id.conf'),
  hostname: key('hostname', hostname.optional(), same, same, 'Chassis.hostname, which neutron matches to nova\'s host name exactly (default: the inventory name)'),
  ovnRemote: key('ovn-remote', endpoints, joined, oneOrList, 'the Southbound endpoints (default: the inventory\'s ovn.southbound)'),
  ovnNb: key('ovn-nb', endpoints.optional(), joined, oneOrList, 'the Northbound endpoints, for tools that read them from the node', { ovn: { neverRead: true } }),
  encap: group({
    type: key('ovn-encap-type', z.union([encapType, z.array(encapType).min(1)]).default('geneve'), joined, oneOrList, 'tunnel types (geneve, vxlan); each is paired with each encap IP'),
    ip: key('ovn-encap-ip', encapIpSpec, (v) => joined(concrete(v)), oneOrList, 'tunnel endpoint IPs, or {interface: NAME} or {cidr: NET} to take the one address the node has there (default: the host\'s address)'),
    ipDefault: key('ovn-encap-ip-default', unicastAddress.optional(), same, same, 'the encap IP used by default when there are several; must be one of them', { ovn: { since: '24.09.0' } }),
    csum: boolKey('ovn-encap-csum', 'whether peers use tunnel checksums'),
    tos: key('ovn-encap-tos', z.union([z.number().int().min(0).max(255), z.literal('inherit')]).optional(), String, (t) => (t === 'inherit' ? t : int(t)), 'the tunnels\' IP ToS: 0-255, or "inherit"'),
    dfDefault: boolKey('ovn-encap-df_default', 'the tunnels\' DF bit', { since: '22.09.0' }),
  }),
  bridgeMappings: key('ovn-bridge-mappings', bridgeMappings.optional(), (m) => Object.entries(m).map(([p, b]) => `${p}:${b}`).join(','), pairs, 'physnet → provider bridge; neutron binds flat/VLAN ports and schedules gateways by it'),
  integrationBridge: key('ovn-bridge', bridgeName.optional(), same, same, 'the integration bridge (default br-int)'),
  integrationBridgeDatapathType: key('ovn-bridge-datapath-type', z.enum(['system', 'netdev']).optional(), same, same, 'the integration bridge\'s datapath: system (kernel) or netdev (DPDK, userspace)'),
  remoteProbeIntervalMs: intKey('ovn-remote-probe-interval', 'Southbound inactivity probe in ms; 0 disables it', { min: 0 }),
  openflowProbeIntervalS: intKey('ovn-openflow-probe-interval', 'OpenFlow inactivity probe in seconds', { min: 0 }, { ignoredSince: '24.03.0' }),
  monitorAll: boolKey('ovn-monitor-all', 'monitor every Southbound record instead of conditional monitoring'),
  matchNorthdVersion: boolKey('ovn-match-northd-version', 'stop processing while northd runs another version (rolling upgrades)'),
  ofctrlWaitBeforeClearMs: intKey('ovn-ofctrl-wait-before-clear', 'ms to wait for flows before clearing them on start', { min: 0 }, { ignoredSince: '25.09.0' }),
  isInterconn: boolKey('ovn-is-interconn', 'this chassis is an OVN interconnection gateway'),
  setLocalIp: boolKey('ovn-set-local-ip', 'set the tunnels\' local_ip to the encap IP', { removedIn: '24.09.0' }),
  lflowCache: optionalGroup({
    enable: boolKey('ovn-enable-lflow-cache', 'the logical flow cache (on by default)'),
    limit: intKey('ovn-limit-lflow-cache', 'most logical flow cache entries', { min: 0 }, { since: '21.03.0' }),
    memlimitKb: intKey('ovn-memlimit-lflow-cache-kb', 'most logical flow cache memory in KB', { min: 0 }, { since: '21.03.0' }),
    trimLimit: intKey('ovn-trim-limit-lflow-cache', 'cache entries below which memory is not trimmed', { min: 0 }),
    trimWmarkPerc: intKey('ovn-trim-wmark-perc-lflow-cache', 'cache use (% of its high watermark) below which memory is trimmed', { min: 0, max: 100 }),
    trimTimeoutMs: intKey('ovn-trim-timeout-ms', 'ms of cache inactivity before memory is trimmed', { min: 0 }),
  }),
  garpMaxTimeoutSec: intKey('garp-max-timeout-sec', 'the longest interval between gratuitous ARPs, in seconds', { min: 0 }, { since: '23.09.0' }),
  chassisMacMappings: key(
    'ovn-chassis-mac-mappings', z.record(physnetName, mac).optional(),
    (m) => Object.entries(m).map(([p, x]) => `${p}:${x.toLowerCase()}`).join(','), pairs,
    'physnet → this chassis\'s MAC, for DVR on VLAN networks',
    // MACs are parsed case-insensitively; a node set up by hand or by another tool often holds them in upper case.
    { same: (a, b) => a.toLowerCase() === b.toLowerCase() },
  ),
  transportZones: key('ovn-transport-zones', z.array(token).optional(), (v) => v.join(','), split, 'tunnels form only between chassis sharing a zone'),
  openvswitch: optionalGroup({
    hwOffload: boolKey(`${OTHER_CONFIG_SETTING}hw-offload`, 'hardware offload of the datapath (SmartNICs); takes effect when ovs-vswitchd restarts'),
    dpdkInit: key(`${OTHER_CONFIG_SETTING}dpdk-init`, z.union([z.boolean(), z.literal('try')]).optional(), String, (t) => (t === 'try' ? t : bool(t)), 'start DPDK: true, false, or try'),
    dpdkSocketMem: key(`${OTHER_CONFIG_SETTING}dpdk-socket-mem`, z.string().regex(/^\d+(,\d+)*$/, 'is not MB per NUMA node, comma-separated (e.g. 1024,1024)').optional(), same, same, 'hugepage memory per NUMA node for DPDK, in MB'),
    dpdkLcoreMask: key(`${OTHER_CONFIG_SETTING}dpdk-lcore-mask`, cpuMask.optional(), same, same, 'CPUs for DPDK\'s non-datapath threads'),
    pmdCpuMask: key(`${OTHER_CONFIG_SETTING}pmd-cpu-mask`, cpuMask.optional(), same, same, 'CPUs for the DPDK poll-mode datapath threads'),
  }),
};

function flag(tok: string, doc: string): TokenDef<z.ZodOptional<z.ZodBoolean>> {
  return { kind: 'token', token: tok, field: z.boolean().optional(), encode: (b) => (b ? [tok] : []), owns: (t) => t === tok, decode: (ts) => (ts.includes(tok) ? true : undefined), doc };
}

/** A `name=value` token holding one value. */
function valued<S extends z.ZodType>(name: string, field: S, show: (v: Exclude<z.output<S>, undefined>) => string, read: (text: string) => unknown, doc: string): TokenDef<S> {
  return {
    kind: 'token', token: `${name}=`, field, doc,
    encode: (v) => {
      const text = show(v);
      return text === '' ? [] : [`${name}=${text}`];
    },
    owns: (t) => t.startsWith(`${name}=`),
    decode: (ts) => {
      const t = ts.find((x) => x.startsWith(`${name}=`));
      return t === undefined ? undefined : read(t.slice(name.length + 1));
    },
  };
}

const kbps = z.number().int().min(0);

/** The ovn-cms-options tokens of a chassis (neutron's reading of them: neutron/common/ovn/constants.py, config-qos-min-bw). */
export const TOKENS = {
  gateway: flag('enable-chassis-as-gw', 'neutron may schedule router gateways here'),
  extportHost: flag('enable-chassis-as-extport-host', 'neutron may host external (SR-IOV, baremetal) ports here'),
  availabilityZones: valued('availability-zones', z.array(azName).optional(), (v) => v.join(':'), (t) => t.split(':').filter(Boolean), 'the chassis\'s availability zones'),
  cardSerialNumber: valued('card-serial-number', token.optional(), same, same, 'the SmartNIC DPU serial number neutron matches ports by'),
  resourceProvider: optionalGroup({
    bandwidths: valued(
      'resource_provider_bandwidths',
      z.record(bridgeName, z.strictObject({ egressKbps: kbps, ingressKbps: kbps })).optional(),
      (m) => Object.entries(m).map(([b, v]) => `${b}:${v.egressKbps}:${v.ingressKbps}`).join(';'),
      (t) => Object.fromEntries(t.split(';').filter(Boolean).map((e) => {
        const [b, eg, ing] = e.split(':');
        return [b, { egressKbps: int(eg ?? ''), ingressKbps: int(ing ?? '') }];
      })),
      'minimum-bandwidth QoS: per bridge, the bandwidth placement may hand out (kbps)',
    ),
    hypervisors: valued('resource_provider_hypervisors', token.optional(), same, same, 'QoS placement: bridge → hypervisor name, as neutron writes it'),
    inventoryDefaults: valued('resource_provider_inventory_defaults', token.optional(), same, same, 'QoS placement inventory defaults, as neutron writes them'),
    packetProcessingWithoutDirection: valued('resource_provider_packet_processing_without_direction', z.number().int().min(0).optional(), String, int, 'minimum packet-rate QoS: packets/s either way'),
    packetProcessingWithDirection: valued('resource_provider_packet_processing_with_direction', token.optional(), same, same, 'minimum packet-rate QoS: "egress:ingress" packets/s'),
    packetProcessingInventoryDefaults: valued('resource_provider_packet_processing_inventory_defaults', token.optional(), same, same, 'QoS packet-rate inventory defaults, as neutron writes them'),
  }),
};

/** A key or token with its dotted config field (encap.ip). */
export type Row<D extends KeyDef | TokenDef> = D & { path: string };

function flatten<D extends KeyDef | TokenDef>(defs: Record<string, Def>, prefix = ''): Row<D>[] {
  return Object.entries(defs).flatMap(([name, d]) =>
    d.kind === 'group' ? flatten<D>(d.entries as Record<string, Def>, `${prefix}${name}.`) : [{ ...(d as D), path: `${prefix}${name}` }],
  );
}

export const KEY_TABLE: Row<KeyDef>[] = flatten<KeyDef>(KEYS);
/** The row of each external_ids key. */
export const KEY_ROWS = new Map(KEY_TABLE.map((r) => [r.key, r]));
export const TOKEN_TABLE: Row<TokenDef>[] = flatten<TokenDef>(TOKENS);

/** The zod shape of a table's fields. */
export function shapeOf<T extends Record<string, Def>>(defs: T): { [K in keyof T]: T[K]['field'] } {
  return Object.fromEntries(Object.entries(defs).map(([k, d]) => [k, d.field])) as { [K in keyof T]: T[K]['field'] };
}

/** Whether a cms token belongs to a typed field (so it cannot be given in cmsOptions). */
export function typedToken(t: string): Row<TokenDef> | undefined {
  return TOKEN_TABLE.find((r) => r.owns(t));
}

/** Reads a dotted field path of a config. */
export function fieldValue(config: object, field: string): unknown {
  let v: unknown = config;
  for (const part of field.split('.')) v = v === undefined || v === null ? undefined : (v as Record<string, unknown>)[part];
  return v;
}

/** Sets a dotted field path, making the objects on the way. */
export function setField(target: Record<string, unknown>, field: string, value: unknown): void {
  const parts = field.split('.');
  let o = target;
  for (const p of parts.slice(0, -1)) o = (o[p] ??= {}) as Record<string, unknown>;
  o[parts.at(-1) as string] = value;
}

/** Compares OVN versions ("24.03.1"); missing parts count as 0. */
export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Why OVN at `version` (unknown: undefined) would not act on a key, or
 * undefined when it would. Nothing is said of a key the version still honours.
 */
export function versionProblem(r: KeyDef, version: string | undefined): string | undefined {
  const o = r.ovn;
  if (!o) return undefined;
  if (o.neverRead) return 'is never read by ovn-controller';
  const at = version === undefined ? undefined : (v: string) => compareVersions(version, v) >= 0;
  if (o.removedIn && (!at || at(o.removedIn))) return `is no longer read by ovn-controller since OVN ${short(o.removedIn)}${version ? ` (this node runs ${version})` : ''}`;
  if (o.ignoredSince && (!at || at(o.ignoredSince))) return `is ignored by ovn-controller since OVN ${short(o.ignoredSince)}${version ? ` (this node runs ${version})` : ''}`;
  if (o.since && at && !at(o.since)) return `is read only by OVN ${short(o.since)} and later; this node runs ${version}`;
  return undefined;
}

const short = (v: string) => v.replace(/\.0$/, '');

const versions = (o: OvnVersions | undefined) =>
  [
    o?.since ? `from ${short(o.since)}` : '',
    o?.ignoredSince ? `ignored from ${short(o.ignoredSince)}` : '',
    o?.removedIn ? `removed in ${short(o.removedIn)}` : '',
    o?.neverRead ? 'never read by ovn-controller' : '',
  ].filter(Boolean).join(', ');

/** The manual's table of chassis settings (docs/agent.md), from the key table. */
export function keyTableMarkdown(): string {
  const lines = ['| config field | written as | OVN | what it does |', '|---|---|---|---|'];
  for (const r of KEY_TABLE) lines.push(`| \`${r.path}\` | \`${r.key.startsWith('@') ? r.key.slice(1) : r.key}\` | ${versions(r.ovn)} | ${r.doc} |`);
  lines.push(`| \`managers\` | a \`Manager\` row per target |  | the node's own OVSDB remotes (e.g. ptcp:6640:127.0.0.1 for nova/os-vif and the metadata agent) |`);
  for (const r of TOKEN_TABLE) lines.push(`| \`${r.path}\` | \`ovn-cms-options\` token \`${r.token.endsWith('=') ? `${r.token}…` : r.token}\` |  | ${r.doc} |`);
  return `${lines.join('\n')}\n`;
}
