/** What the controller's commands share: their options, how they pick hosts, reach the Southbound and print. */
import type { Argv } from 'yargs';
import { EXIT_STATUS, confirmed, usageLine } from '../../cli/index.js';
import { DEFAULT_STATE_DIR } from '../../agent/index.js';
import { createLogger } from '../../common/log.js';
import { asList } from '../../schemas/chassis.js';
import { type ChangeCount, addCounts, countOf } from '../../schemas/output.js';
import { ControllerError } from '../errors.js';
import type { NodeResult, RunOptions } from '../fleet.js';
import { type Fleet, type Host } from '../inventory.js';
import { limitHosts } from '../limit.js';
import { validateFleet } from '../validate.js';
import { type SouthboundView, southboundAccess, watchSouthbound } from '../verify.js';

export const log = createLogger('ovn-chassis');

/** One command of the controller: its name, and how it joins the parser (its description, examples, options and run, resolving with the exit code). */
export interface Command {
  name: string;
  register(y: Argv, done: (code: number) => void): Argv;
}

/** A command whose options `builder` adds (after the common ones) and whose run receives them, typed. */
export function command<T>(name: string, describe: string, examples: [string, string][], builder: (y: Argv) => Argv<T>, run: (a: T) => Promise<number> | number): Command {
  return {
    name,
    register: (y, done) => y.command(name, describe, (b) => {
      for (const [cmd, what] of examples) b.example(cmd, what);
      const built = builder(b.epilog(EXIT_STATUS));
      return built.usage(`${usageLine(built, name)}\n\n${describe}`);
    }, async (a) => done(await run(a as unknown as T))),
  };
}

/** The options of every command: the inventory and --json. */
export function inventoryOpts(y: Argv) {
  return y
    .option('inventory', { alias: 'i', type: 'string', demandOption: true, describe: 'inventory file (YAML)' })
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output on stdout (versioned; schemas/output/)' });
}

/** Which hosts a command takes. */
export function limitOpt<T>(y: Argv<T>) {
  return y.option('limit', { alias: 'l', type: 'string', describe: 'hosts, groups or globs (a,b or a:b; !x excludes, &x intersects)' });
}

/** The option of commands that change something, and ask first at a terminal. */
export function yesOpt<T>(y: Argv<T>) {
  return y.option('yes', { type: 'boolean', default: false, describe: 'do not ask before changing anything (asked only at a terminal)' });
}

/** The options of commands that reach nodes. */
export function fleetOpts(y: Argv) {
  return limitOpt(inventoryOpts(y))
    .option('concurrency', { type: 'number', default: 20, describe: 'nodes worked on at once' })
    .option('timeout', { type: 'number', default: 120, describe: 'seconds one node may take' })
    .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR, describe: 'state of in-process (local transport) agents' });
}

/** The options of commands that change nodes: the fleet's, and --yes. */
export function writeOpts(y: Argv) {
  return yesOpt(fleetOpts(y));
}

export type FleetArgs = { inventory: string; json: boolean; limit?: string | undefined; concurrency: number; timeout: number; 'state-dir': string };

/** At a terminal, shows what will be done and asks; a "no" ends the command with nothing changed. */
export async function confirmOrCancel(a: { yes: boolean }, what: string): Promise<void> {
  if (!(await confirmed(a.yes, what))) throw new ControllerError('CANCELLED', 'cancelled at the prompt: nothing was changed');
}

export function selected(fleet: Fleet, limit: string | undefined): Host[] {
  const hosts = limitHosts(fleet.hosts, limit);
  if (hosts.length === 0) throw new ControllerError('INVALID_CONFIG', `--limit ${limit} matches no host of ${fleet.source}`);
  return hosts;
}

export function runOpts(a: { concurrency: number; timeout: number; 'state-dir': string }): RunOptions {
  if (!(a.concurrency >= 1)) throw new ControllerError('USAGE', `--concurrency ${a.concurrency} must be at least 1`);
  if (!(a.timeout > 0)) throw new ControllerError('USAGE', `--timeout ${a.timeout} must be above 0`);
  return { concurrency: Math.floor(a.concurrency), nodeTimeoutMs: a.timeout * 1000, stateRoot: a['state-dir'], log };
}

/** Fleet-wide errors (duplicate ids or encap IPs…) stop a write before any node is touched. */
export function refuseInvalid(fleet: Fleet): void {
  const errors = validateFleet(fleet).filter((f) => f.level === 'error');
  if (errors.length > 0) {
    throw new ControllerError('INVALID_CONFIG', `${fleet.source} has fleet-wide errors; nothing was changed:\n  ${errors.map((e) => e.message).join('\n  ')}`);
  }
}

export async function southbound(fleet: Fleet, what: string): Promise<SouthboundView> {
  try {
    return await watchSouthbound(southboundAccess(fleet.inventory), log);
  } catch (err) {
    throw new ControllerError('UNREACHABLE', `cannot reach the Southbound DB (${asList(fleet.inventory.ovn.southbound).join(',')}) to ${what}: ${(err as Error).message}; nothing was changed`);
  }
}

/** Every inventory host's system-id → its name. */
export function systemIdsOf(fleet: Fleet): Map<string, string> {
  return new Map(fleet.hosts.map((h) => [h.chassis.systemId, h.name]));
}

type Planned = { plan?: { changes: unknown[]; bridges: unknown[]; ports: unknown[]; warnings: string[] }; warnings?: string[] };

/** Per node, as --json shows it: its result's fields beside host/ok/ms, with the changes it counts. */
export function view<T extends object>(results: NodeResult<T>[]): object[] {
  return results.map((r) => {
    if (!r.ok) return r;
    const v = r.value as Planned;
    return { host: r.host, ok: true, ms: r.ms, ...r.value, ...(v.plan ? { changes: countOf(v.plan) } : {}) };
  });
}

/** The changes of every node that answered, counted once. */
export function changesOf<T extends object>(results: NodeResult<T>[]): ChangeCount {
  return addCounts(results.flatMap((r) => (r.ok && (r.value as Planned).plan ? [countOf((r.value as Planned).plan)] : [])));
}

/** Every node's warnings, each line naming its host: the result carries them, not only the log. */
export function warningsOf<T extends object>(results: NodeResult<T>[]): string[] {
  return results.flatMap((r) => {
    if (!r.ok) return [];
    const v = r.value as Planned;
    return [...new Set([...(v.plan?.warnings ?? []), ...(v.warnings ?? [])])].map((w) => `${r.host}: ${w}`);
  });
}

/**
 * Ctrl-C or SIGTERM during a rollout: stop after the batch in flight (a second
 * one aborts at once). `requested` says whether it was asked; `release` stops listening.
 */
export function stopBetweenBatches(howToResume: string): { requested: () => boolean; release: () => void } {
  let stop = false;
  const onSignal = () => {
    if (stop) process.exit(130);
    stop = true;
    process.stderr.write(`ovn-chassis: stopping after the batch in flight (again to abort at once; ${howToResume})\n`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: () => stop,
    release: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
