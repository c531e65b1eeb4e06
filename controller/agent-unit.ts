import { dirname, join } from 'node:path';
import { AGENT_EXECUTABLE, DEFAULT_STATE_DIR, DEFAULT_WRITABLE, type NodeAccess, type RunResult, UNIT_NAME, agentUnit, secureStateDir } from '../agent/index.js';
import { printable } from '../common/text.js';
import { backendArgs, ovsdbSocketDir } from '../schemas/backend.js';
import { ControllerError, afterChange } from './errors.js';
import type { Host } from './inventory.js';

/**
 * The systemd kind of the agent on a node, through the node access direct
 * mode uses (SFTP writes made exclusively under a new name and renamed into
 * place, never through a planted link; programs run as argument vectors with
 * bounded output and a timeout): install, upgrade, remove, and the unit's state.
 */

const SYSTEMCTL_TIMEOUT_MS = 60_000;
export const HEALTHY_WITHIN_MS = 60_000;

/** The config file a pushed-to agent starts from, in its state dir. */
export const AGENT_CONFIG_FILE = 'chassis.json';

/** Where a host's agent lives on its node: under `agent.installRoot` (default /) for image-based hosts and tests. */
export function unitPaths(host: Host): { exe: string; previous: string; unit: string; stateDir: string; config: string } {
  const root = host.agent.installRoot ?? '/';
  const exe = join(root, AGENT_EXECUTABLE);
  const stateDir = host.transport.stateDir ?? DEFAULT_STATE_DIR;
  return { exe, previous: `${exe}.previous`, unit: join(root, 'etc/systemd/system', UNIT_NAME), stateDir, config: join(stateDir, AGENT_CONFIG_FILE) };
}

/**
 * What an installed agent runs, as a unit or a container: serve, keeping the
 * config file the controller writes to its state dir applied, or (agent.pull)
 * the host's row of the config database.
 */
export function serveArgv(host: Host, stateDir: string): string[] {
  const t = host.pull?.tls;
  const source = host.pull
    ? ['--pull', host.pull.endpoints.join(','), '--host', host.name, ...(t ? ['--pull-ssl-key', t.privateKey, '--pull-ssl-cert', t.certificate, '--pull-ssl-ca', t.caCert] : [])]
    : ['--config', join(stateDir, AGENT_CONFIG_FILE)];
  return ['serve', ...source, ...backendArgs(host.agent), '--state-dir', stateDir];
}

/** The unit with this node's own paths: its executable, backend and state dir, and the directories it may write. */
function unitText(host: Host): string {
  const { exe, stateDir } = unitPaths(host);
  const socketDir = ovsdbSocketDir(host.agent);
  const writable = [...DEFAULT_WRITABLE, stateDir, ...(socketDir ? [socketDir] : [])];
  return agentUnit([exe, ...serveArgv(host, stateDir)], [...new Set(writable)]);
}

const said = (r: RunResult) => printable((r.stderr.trim() || r.stdout.trim() || (r.timedOut ? 'no answer in time' : `exit ${r.code}`)).slice(-500));

async function must(node: NodeAccess, where: string, argv: string[]): Promise<void> {
  const r = await node.run(argv, SYSTEMCTL_TIMEOUT_MS);
  if (r.code !== 0) throw new ControllerError('AGENT_NOT_STARTED', `${where}: ${argv.join(' ')} failed: ${said(r)}`);
}

/** Makes a directory's missing parents 0755 and the directory itself `mode`: a private folder never makes its parents private. */
async function ensureDir(node: NodeAccess, dir: string, mode: number): Promise<void> {
  if (await node.files.lstat(dir)) return;
  const parent = dirname(dir);
  if (parent !== dir) await ensureDir(node, parent, 0o755);
  await node.files.mkdir(dir, mode);
}

/** The version an executable on the node says it is (its --version), or why it says none. */
async function versionOf(node: NodeAccess, exe: string): Promise<string> {
  const r = await node.run([exe, '--version', '--json'], 30_000);
  try {
    const v = (JSON.parse(r.stdout) as { version?: unknown }).version;
    if (r.code === 0 && typeof v === 'string') return printable(v).slice(0, 64);
  } catch {
    // Said below.
  }
  throw new Error(`${exe} --version answered ${said(r)}`);
}

/** Waits until the serving agent answers (as `version`, when known); undefined then, else why not. */
async function healthy(node: NodeAccess, exe: string, stateDir: string, version: string | undefined): Promise<string | undefined> {
  const deadline = Date.now() + HEALTHY_WITHIN_MS;
  let why = 'no answer';
  for (;;) {
    const r = await node.run([exe, 'health', '--state-dir', stateDir, '--json'], 15_000);
    if (r.code === 0) {
      const agent = (() => {
        try {
          return (JSON.parse(r.stdout) as { agent?: unknown }).agent;
        } catch {
          return undefined;
        }
      })();
      if (version === undefined || agent === version) return undefined;
      why = `the agent answering is version ${printable(String(agent)).slice(0, 64)}, not ${version}`;
    } else why = said(r);
    if (Date.now() > deadline) return `${why} (after ${HEALTHY_WITHIN_MS / 1000} s)`;
    await new Promise((res) => setTimeout(res, 1000));
  }
}

export interface UnitInstall {
  kind: 'systemd';
  executable: string;
  unit: string;
  version: string;
  replaced?: string;
}

/**
 * Installs or upgrades the unit: the executable is written beside the one in
 * place and renamed over it (a running executable is never written to), the
 * unit and the node's desired config likewise; then the unit is (re)started
 * and must answer healthy as the new version in time. An upgrade that does
 * not gets the previous executable and unit back, restarted, and says so.
 */
export async function installUnit(node: NodeAccess, host: Host, where: string, executable: Buffer, upgrade: boolean): Promise<UnitInstall> {
  const p = unitPaths(host);
  const hadExe = (await node.files.lstat(p.exe))?.kind === 'file';
  const oldUnit = (await node.files.lstat(p.unit))?.kind === 'file' ? await node.files.read(p.unit, 64 * 1024) : undefined;
  if (upgrade && (!hadExe || oldUnit === undefined)) {
    throw new ControllerError('AGENT_NOT_INSTALLED', `${where}: no agent unit to upgrade (${p.exe}, ${p.unit}); install it first (ovn-chassis agent install)`);
  }
  const replaced = hadExe ? await versionOf(node, p.exe).catch(() => undefined) : undefined;
  await ensureDir(node, dirname(p.exe), 0o755);
  await ensureDir(node, dirname(p.unit), 0o755);
  await ensureDir(node, dirname(p.stateDir), 0o755);
  // The state dir holds the snapshots rollback trusts: ours and private, or refused.
  await secureStateDir(node.files, p.stateDir);
  // The first write: whatever fails from here on failed on a changed node.
  if (hadExe) await must(node, where, ['ln', '-f', '--', p.exe, p.previous]);
  return afterChange(async () => {
    await node.files.writeAtomic(p.exe, executable, 0o755);
    await node.files.writeAtomic(p.unit, unitText(host), 0o644);
    // A pulling agent takes its config from the config database: no file that could disagree with it.
    if (!host.pull) await node.files.writeAtomic(p.config, `${JSON.stringify(host.chassis, null, 2)}\n`, 0o600);
    const start = async () => {
      await must(node, where, ['systemctl', 'daemon-reload']);
      await must(node, where, ['systemctl', 'enable', UNIT_NAME]);
      await must(node, where, ['systemctl', 'restart', UNIT_NAME]);
    };
    let version = 'the new build';
    /** Undefined once the new agent serves; otherwise why not, with the code that says where it stopped. */
    const failure = await (async () => {
      version = await versionOf(node, p.exe);
      await start();
      const why = await healthy(node, p.exe, p.stateDir, version);
      return why === undefined ? undefined : { code: 'AGENT_UNHEALTHY' as const, why: `it does not serve: ${why}` };
    })().catch((err: Error & { code?: unknown }) => ({ code: err.code === 'AGENT_NOT_STARTED' ? 'AGENT_NOT_STARTED' as const : 'AGENT_UNHEALTHY' as const, why: err.message.replace(`${where}: `, '') }));
    if (!failure) return { kind: 'systemd', executable: p.exe, unit: p.unit, version, ...(replaced ? { replaced } : {}) };
    const why = failure.why;
    if (!upgrade || !hadExe || oldUnit === undefined) {
      throw new ControllerError(failure.code, `${where}: the agent is installed (${p.exe}, ${p.unit}), but ${why}`);
    }
    // Back to what ran before: the previous executable renamed into place, the previous unit, restarted.
    await node.files.rename(p.previous, p.exe);
    await node.files.writeAtomic(p.unit, oldUnit, 0o644);
    const back = await start().then(() => healthy(node, p.exe, p.stateDir, replaced), (err: Error) => err.message);
    throw new ControllerError('AGENT_UNHEALTHY', `${where}: the agent ${version} did not come up healthy (${why}); ${back ? `and the previous one (${replaced ?? 'unknown version'}) did not either: ${back}` : `the previous one (${replaced}) was restored and serves again`}`);
  });
}

/** Stops and disables the unit and removes its files; the node's Open vSwitch and the snapshots in its state dir stay as they are. */
export async function removeUnit(node: NodeAccess, host: Host, where: string): Promise<{ removed: boolean; kept: string }> {
  const p = unitPaths(host);
  const there = (await node.files.lstat(p.unit)) !== undefined || (await node.files.lstat(p.exe)) !== undefined;
  if (!there) return { removed: false, kept: p.stateDir };
  await must(node, where, ['systemctl', 'disable', '--now', UNIT_NAME]);
  return afterChange(async () => {
    for (const f of [p.unit, p.exe, p.previous, p.config]) await node.files.remove(f);
    await must(node, where, ['systemctl', 'daemon-reload']);
    return { removed: true, kept: p.stateDir };
  });
}

/** What systemd says of the unit: loaded or not, active state and sub-state (e.g. "active (running)"). */
export async function unitState(node: NodeAccess): Promise<string> {
  const r = await node.run(['systemctl', 'show', UNIT_NAME, '--property=LoadState', '--property=ActiveState', '--property=SubState'], 15_000);
  if (r.code !== 0) return `unknown (${said(r)})`;
  const prop = (name: string) => printable(new RegExp(`^${name}=(.*)$`, 'm').exec(r.stdout)?.[1] ?? '?').slice(0, 40);
  return prop('LoadState') === 'not-found' ? 'no unit' : `unit ${prop('ActiveState')} (${prop('SubState')})`;
}
