import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { EXIT, printResult } from '../../cli/index.js';
import { type NodeResult, fleetExit, forEachHost } from '../fleet.js';
import { type HostKeyResult, type ScannedKey, judgeHostKey, knownHostsLine, scanHostKey } from '../hostkeys.js';
import { loadFleet } from '../inventory.js';
import { Progress } from '../progress.js';
import { failed } from '../report.js';
import { expandHome, fingerprint } from '../transport/known-hosts.js';
import { ControllerError } from '../errors.js';
import { command, confirmOrCancel, writeOpts, log, runOpts, selected, view } from './common.js';

const readKnown = (file: string) => (existsSync(expandHome(file)) ? readFileSync(expandHome(file), 'utf8') : '');

export const hostkeys = command(
  'hostkeys', 'collect the nodes\' SSH host keys into the known-hosts file the inventory names (trust on first use), and report changed ones',
  [
    ['$0 hostkeys -i inventory.yaml', 'add every new node\'s host key; a changed key is reported, never written'],
    ['$0 hostkeys -i inventory.yaml --limit cmp-9 --yes', 'pin a newly racked node\'s key without asking'],
  ],
  writeOpts,
  async (a) => {
    const fleet = loadFleet(a.inventory);
    const hosts = selected(fleet, a.limit).filter((h) => h.transport.kind === 'ssh');
    if (hosts.length === 0) throw new ControllerError('USAGE', `no host of ${fleet.source}${a.limit ? ` matching --limit ${a.limit}` : ''} is reached over SSH: there is no host key to collect`);
    const scanned = await forEachHost<ScannedKey>(hosts, runOpts(a), new Progress('hostkeys', hosts.length, log), (s) => fingerprint(s.key), (h) => scanHostKey(h, runOpts(a).nodeTimeoutMs));
    const known = new Map<string, string>();
    const textOf = (file: string) => known.get(file) ?? known.set(file, readKnown(file)).get(file) as string;
    const additions = new Map<string, Map<string, string>>();
    const results: NodeResult<HostKeyResult>[] = scanned.map((r, i) => {
      if (!r.ok) return r;
      const host = hosts[i]!;
      const pinned = host.transport.kind === 'ssh' ? host.transport.fingerprints : undefined;
      const state = judgeHostKey(r.value, r.value.file ? textOf(r.value.file) : '', pinned);
      const fp = fingerprint(r.value.key);
      const trusted = r.value.file ?? 'the fingerprints transport.fingerprints pins';
      if (state === 'changed') {
        const why = `${host.name}: the host key has CHANGED: ${r.value.name} presents ${fp}, which ${trusted} does not list for it; not written. If the change is expected (a reinstalled node), check ${fp} on the node's console, remove the old key${r.value.file ? ` (ssh-keygen -R '${r.value.name}' -f ${r.value.file})` : ''} and run hostkeys again`;
        return { host: r.host, ok: false, ms: r.ms, error: { code: 'HOST_KEY_CHANGED', message: why } };
      }
      if (state === 'added' && r.value.file) {
        const lines = additions.get(r.value.file) ?? new Map<string, string>();
        lines.set(knownHostsLine(r.value), host.name);
        additions.set(r.value.file, lines);
      }
      return { ...r, value: { address: host.address, state, fingerprint: fp, ...(r.value.file ? { file: r.value.file } : {}) } };
    });
    const added = results.filter((r) => r.ok && r.value.state === 'added');
    if (added.length > 0) {
      await confirmOrCancel(a, [
        'These host keys are not yet trusted. They are taken as the nodes present them now (trust on first use): compare each with the node\'s own (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub) if the network between may not be trusted.',
        ...added.map((r) => (r.ok ? `  ${r.host} (${r.value.address}): ${r.value.fingerprint}` : '')),
      ].join('\n'));
      for (const [file, lines] of additions) {
        mkdirSync(dirname(expandHome(file)), { recursive: true, mode: 0o700 });
        appendFileSync(expandHome(file), [...lines.keys()].map((l) => `${l}\n`).join(''), { mode: 0o600 });
      }
    }
    const line = (r: NodeResult<HostKeyResult>) => (!r.ok ? `${r.host}: ${failed(r)}`
      : r.value.state === 'pinned' ? `${r.host}: ${r.value.fingerprint} already trusted`
        : `${r.host}: ${r.value.fingerprint} added to ${r.value.file} (trust on first use)`);
    const changed = results.filter((r) => !r.ok && r.error.code === 'HOST_KEY_CHANGED').length;
    printResult(a.json, 'hostkeys', { knownHosts: [...new Set(scanned.flatMap((r) => (r.ok && r.value.file ? [r.value.file] : [])))], nodes: view(results), added: added.length, changed }, results.map(line).join('\n'));
    return fleetExit(results, EXIT.OK);
  },
);
