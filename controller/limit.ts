import { globRegExp } from './glob.js';
import type { Host } from './inventory.js';

/**
 * Selects hosts the way Ansible's --limit does: patterns separated by "," or
 * ":", each a host name, a group name or a glob (* ?); "!pat" excludes and
 * "&pat" intersects. Nothing matching is an error, not an empty run.
 */
export function limitHosts(hosts: Host[], pattern: string | undefined): Host[] {
  if (!pattern) return hosts;
  const parts = pattern.split(/[,:]/).map((p) => p.trim()).filter(Boolean);
  const matches = (p: string, h: Host) => {
    const re = globRegExp(p);
    return re.test(h.name) || h.groups.some((g) => re.test(g));
  };
  const plain = parts.filter((p) => !p.startsWith('!') && !p.startsWith('&'));
  let selected = plain.length > 0 ? hosts.filter((h) => plain.some((p) => matches(p, h))) : [...hosts];
  for (const p of parts.filter((x) => x.startsWith('&'))) selected = selected.filter((h) => matches(p.slice(1), h));
  for (const p of parts.filter((x) => x.startsWith('!'))) selected = selected.filter((h) => !matches(p.slice(1), h));
  return selected;
}
