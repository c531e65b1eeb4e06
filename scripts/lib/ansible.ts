import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Fleet } from '../../controller/inventory.js';
import { run } from '../../sandbox/index.js';
import { concrete } from '../../schemas/keys.js';
import { vsctlSetArgs } from './peers.js';

const execFileP = promisify(execFile);

/** What ensureAnsible found: looked for (and installed if need be) once per run, however many cases ask. */
let found: { path: string | undefined } | undefined;

/** Ansible from Debian's packages, installed when missing; undefined (with why, through `say`) when it cannot be. */
export function ensureAnsible(say: (text: string) => void): string | undefined {
  found ??= { path: lookForAnsible(say) };
  return found.path;
}

function lookForAnsible(say: (text: string) => void): string | undefined {
  const which = () => {
    try {
      return run('sh', ['-c', 'command -v ansible-playbook']).trim() || undefined;
    } catch {
      return undefined;
    }
  };
  if (which()) return which();
  try {
    say('installing ansible-core from Debian for the comparison');
    run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'ansible-core'], { ...process.env, DEBIAN_FRONTEND: 'noninteractive' });
  } catch (err) {
    say(`Ansible unavailable, its case is skipped: ${(err as Error).message.split('\n')[0]}`);
  }
  return which();
}

/** A play over a fleet: its inventory (each host's database, system-id and encap IP) and, per run, the playbook. */
export interface AnsiblePlay {
  dir: string;
  playbook: (run: number) => string;
}

/**
 * The fleet as Ansible would set it, kolla-ansible's way: one `ovs-vsctl set`
 * per host, over a local connection (no SSH), the per-host values from the
 * inventory. Runs alternate the two fleets, so every run writes every node.
 */
export function ansiblePlay(dir: string, fleets: Fleet[], nodes: { name: string; ovsdb: { unix: string } }[]): AnsiblePlay {
  const db = new Map(nodes.map((x) => [x.name, x.ovsdb.unix]));
  const hostsIni = ['[fleet]', ...(fleets[0] as Fleet).hosts.map((h) =>
    `${h.name} ansible_connection=local ansible_python_interpreter=/usr/bin/python3 db=${db.get(h.name)} system_id=${h.chassis.systemId} encap_ip=${concrete(h.chassis.encap.ip).join(',')}`)].join('\n');
  writeFileSync(join(dir, 'hosts.ini'), `${hostsIni}\n`);
  const perHost = ['external_ids:system-id', 'external_ids:hostname', 'external_ids:ovn-encap-ip', 'external_ids:ovn-cms-options', 'external_ids:ovn-bridge-mappings', 'external_ids:ovn-transport-zones'];
  return {
    dir,
    playbook: (i) => {
      const c = (fleets[i % 2] as Fleet).hosts[0]?.chassis;
      const args = c ? vsctlSetArgs(c).filter((a) => !perHost.some((p) => a.startsWith(p))) : [];
      const line = ['ovs-vsctl', '--db={{ db }}', ...args, 'external_ids:system-id={{ system_id }}', 'external_ids:hostname={{ inventory_hostname }}', 'external_ids:ovn-encap-ip={{ encap_ip }}'];
      return `- hosts: fleet\n  gather_facts: false\n  tasks:\n    - name: set OVN chassis keys (as kolla-ansible does)\n      command:\n        argv: ${JSON.stringify(line)}\n`;
    },
  };
}

/** Runs the play's playbook for run `i`, `forks` hosts at a time (Ansible's own default is 5). */
export async function runPlay(ansible: string, play: AnsiblePlay, i: number, forks = 5): Promise<void> {
  writeFileSync(join(play.dir, 'site.yml'), play.playbook(i));
  await execFileP(ansible, ['-i', join(play.dir, 'hosts.ini'), '-f', String(forks), join(play.dir, 'site.yml')], { env: { ...process.env, ANSIBLE_HOST_KEY_CHECKING: 'False', ANSIBLE_NOCOLOR: '1' }, maxBuffer: 64 * 1024 * 1024 });
}
