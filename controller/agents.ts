import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import type { Client } from 'ssh2';
import { AGENT_EXECUTABLE, agentUnit, DEFAULT_STATE_DIR, DEFAULT_WRITABLE, UNIT_NAME } from '../agent/index.js';
import { printable } from '../common/text.js';
import { DEFAULT_DOCKER_SOCKET, backendArgs, installKind } from '../schemas/backend.js';
import { parseEndpointText } from '../schemas/endpoint.js';
import { AGENT_IMAGE } from '../schemas/version.js';
import { ControllerError } from './errors.js';
import type { Host } from './inventory.js';
import { openSsh, shellQuote } from './transport/ssh.js';
import type { Lifeline } from './transport/lifeline.js';
import { forwardedDocker } from './transport/ssh-node.js';

/** The agent's container on a node, as Kolla names its containers. */
export const AGENT_CONTAINER = 'ovn_chassis_agent';
const HEALTHY_WITHIN_MS = 60_000;

/** What install did on a node: which image runs (and whether it had to be loaded), or where the unit's files went. */
export type AgentInstallResult =
  | { kind: 'container'; image: string; loaded: boolean; replaced?: string }
  | { kind: 'systemd'; executable: string; unit: string };

export function describeInstall(r: AgentInstallResult): string {
  return r.kind === 'container' ? `${r.image} healthy${r.replaced ? ` (was ${r.replaced})` : ''}` : `${r.unit} started, ${r.executable} healthy`;
}

/** The node's Docker API socket (the docker backend's, or the one named for install). */
function nodeDockerSocket(host: Host): string {
  return ('dockerSocket' in host.agent ? host.agent.dockerSocket : undefined) ?? DEFAULT_DOCKER_SOCKET;
}

/** The node's Docker API, reached through SSH forwards of its socket. */
async function nodeDocker(conn: Client, host: Host, where: string, lifeline: Lifeline): Promise<Docker> {
  const socket = nodeDockerSocket(host);
  const docker = await forwardedDocker(conn, socket, lifeline);
  await docker.ping().catch((err: unknown) => {
    throw new ControllerError('UNREACHABLE', `${where}: cannot reach the node's Docker API at ${socket} over SSH: ${(err as Error).message}`);
  });
  return docker;
}

/** What the container needs mounted at the same paths inside: the state dir, and the OVSDB socket's directory or the Docker socket. */
export function containerSpec(host: Host, image: string): Docker.ContainerCreateOptions {
  const stateDir = host.transport.stateDir ?? DEFAULT_STATE_DIR;
  const a = host.agent;
  let reach: string;
  if (a.backend === 'ovsdb') {
    const ep = parseEndpointText(a.db);
    if (typeof ep === 'string') throw new ControllerError('INVALID_INVENTORY', `${host.name}: agent.db ${a.db}: ${ep}`);
    reach = ep.kind === 'unix' ? dirname(ep.path) : '';
  } else if (a.backend === 'docker') reach = a.dockerSocket;
  else throw new ControllerError('INVALID_INVENTORY', `${host.name}: a vsctl-backend agent needs ovs-vsctl beside it; install it with agent.install: systemd`);
  const binds = [`${stateDir}:${stateDir}`, ...(reach ? [`${reach}:${reach}`] : [])];
  return {
    name: AGENT_CONTAINER,
    Image: image,
    Cmd: ['serve', '--config', join(stateDir, 'chassis.json'), ...backendArgs(a), '--state-dir', stateDir],
    Healthcheck: { Test: ['CMD', '/usr/bin/ovn-chassis-agent', 'health', '--state-dir', stateDir], Interval: 2e9, Timeout: 5e9, Retries: 5, StartPeriod: 2e9 },
    HostConfig: { NetworkMode: 'host', Binds: binds, RestartPolicy: { Name: 'unless-stopped' } },
    Labels: { 'org.ovn-chassis.agent': image },
  };
}

/**
 * The agent, as a container, on the nodes the inventory says install so
 * (container kind): over SSH, through the node's own Docker API, the image
 * loaded from the controller's Docker (DOCKER_HOST) when the node lacks it,
 * the node's desired config written to its state dir, the container created
 * (or replaced) and waited healthy. With `upgrade`, a node whose new agent
 * does not come up healthy gets its previous one back.
 */
export async function installAgent(host: Host, opts: { image?: string; local: Docker; upgrade?: boolean; executable: string }): Promise<AgentInstallResult> {
  if (host.transport.kind === 'ssh' && host.transport.via === 'direct') {
    throw new ControllerError('INVALID_INVENTORY', `${host.name}: transport.via is direct, which keeps nothing of ours on the node; set via: agent to install an agent there`);
  }
  if (installKind(host.agent) === 'systemd') return installUnit(host, opts.executable);
  const image = opts.image ?? AGENT_IMAGE;
  const { conn, where, lifeline } = await openSsh(host);
  try {
    const docker = await nodeDocker(conn, host, where, lifeline);
    const loaded = await ensureImage(docker, opts.local, image, where);
    const stateDir = host.transport.stateDir ?? DEFAULT_STATE_DIR;
    await writeConfig(conn, stateDir, `${JSON.stringify(host.chassis, null, 2)}\n`, where);
    const old = await docker.getContainer(AGENT_CONTAINER).inspect().catch(() => undefined);
    if (old) await docker.getContainer(AGENT_CONTAINER).remove({ force: true });
    /** Undefined once the agent from `img` is healthy; otherwise why not. */
    const start = async (img: string): Promise<string | undefined> => {
      try {
        const c = await docker.createContainer(containerSpec(host, img));
        await c.start();
        return await waitHealthy(c);
      } catch (err) {
        return (err as Error).message;
      }
    };
    const why = await start(image);
    if (why) {
      const back = old?.Config.Image;
      await docker.getContainer(AGENT_CONTAINER).remove({ force: true }).catch(() => undefined);
      if (opts.upgrade && back) {
        const again = await start(back);
        throw new ControllerError('AGENT_UNHEALTHY', `${where}: the agent from ${image} did not come up healthy (${why}); ${again ? `and the previous one (${back}) did not either: ${again}` : `the previous one (${back}) runs again`}`);
      }
      throw new ControllerError('AGENT_UNHEALTHY', `${where}: the agent from ${image} did not come up healthy: ${why}`);
    }
    return { kind: 'container', image, loaded, ...(old ? { replaced: old.Config.Image } : {}) };
  } finally {
    conn.end();
  }
}

/**
 * The systemd kind: the single executable, the unit (with this node's own
 * paths) and the desired config copied over SFTP with their modes, then
 * `systemctl daemon-reload` and `enable --now`, and the agent's health checked.
 * Paths land under `agent.installRoot` (default /): image-based hosts, and tests.
 */
async function installUnit(host: Host, executable: string): Promise<AgentInstallResult> {
  const root = host.agent.installRoot ?? '/';
  const stateDir = host.transport.stateDir ?? DEFAULT_STATE_DIR;
  const exe = join(root, AGENT_EXECUTABLE);
  const unitPath = join(root, 'etc/systemd/system', UNIT_NAME);
  const config = join(stateDir, 'chassis.json');
  const a = host.agent;
  const reach = a.backend === 'ovsdb' ? parseEndpointText(a.db) : undefined;
  const writable = [...DEFAULT_WRITABLE, stateDir, ...(reach && typeof reach !== 'string' && reach.kind === 'unix' ? [dirname(reach.path)] : [])];
  const unit = agentUnit([exe, 'serve', '--config', config, ...backendArgs(a), '--state-dir', stateDir], [...new Set(writable)]);
  const { conn, where } = await openSsh(host);
  try {
    await sftpPut(conn, where, [
      { path: exe, data: readFileSync(executable), mode: 0o755 },
      { path: unitPath, data: Buffer.from(unit), mode: 0o644 },
      { path: config, data: Buffer.from(`${JSON.stringify(host.chassis, null, 2)}\n`), mode: 0o600, dirMode: 0o700 },
    ]);
    for (const argv of [['systemctl', 'daemon-reload'], ['systemctl', 'enable', '--now', UNIT_NAME]]) {
      const r = await execOn(conn, argv);
      if (r.code !== 0) {
        throw new ControllerError('AGENT_NOT_STARTED', `${where}: the agent is installed (${exe}, ${unitPath}), but ${argv.join(' ')} failed: ${printable(r.stderr.trim()).slice(0, 500)}; start it with systemctl enable --now ${UNIT_NAME}`);
      }
    }
    const deadline = Date.now() + HEALTHY_WITHIN_MS;
    for (;;) {
      const health = await execOn(conn, [exe, 'health', '--state-dir', stateDir]);
      if (health.code === 0) break;
      if (Date.now() > deadline) throw new ControllerError('AGENT_UNHEALTHY', `${where}: the unit started, but its agent does not answer: ${printable(health.stderr.trim()).slice(0, 500)}`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    return { kind: 'systemd', executable: exe, unit: unitPath };
  } finally {
    conn.end();
  }
}

/** Writes files over SFTP, creating their directories, each with its mode. */
function sftpPut(conn: Client, where: string, files: { path: string; data: Buffer; mode: number; dirMode?: number }[]): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.sftp(async (err, sftp) => {
      if (err) return reject(new ControllerError('UNREACHABLE', `${where}: no SFTP: ${err.message}`));
      const call = <T>(fn: (cb: (e: Error | null | undefined, v?: T) => void) => void) => new Promise<T | undefined>((res, rej) => fn((e, v) => (e ? rej(e) : res(v))));
      try {
        for (const f of files) {
          let dir = '';
          for (const part of dirname(f.path).split('/').filter(Boolean)) {
            dir += `/${part}`;
            // Already there is fine: only the file's own write is checked.
            const made = dir;
            await new Promise((r) => sftp.mkdir(made, { mode: f.dirMode ?? 0o755 }, () => r(undefined)));
          }
          await call((cb) => sftp.writeFile(f.path, f.data, { mode: f.mode }, (e) => cb(e)));
          await call((cb) => sftp.chmod(f.path, f.mode, (e) => cb(e)));
        }
        resolve();
      } catch (e) {
        reject(new ControllerError('UNREACHABLE', `${where}: cannot copy the agent's files: ${(e as Error).message}`));
      } finally {
        sftp.end();
      }
    });
  });
}

/** Runs an argument vector on the node (quoted for its login shell); its exit code and output. */
function execOn(conn: Client, argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    conn.exec(shellQuote(argv), (err, ch) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      ch.on('data', (d: Buffer) => (stdout += d.toString()));
      ch.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      ch.on('close', (code: number | null) => resolve({ code: code ?? 1, stdout, stderr }));
    });
  });
}

/** Removes the agent's container; the node's Open vSwitch and the state dir (snapshots) stay as they are. */
export async function removeAgent(host: Host): Promise<{ removed: boolean }> {
  const { conn, where, lifeline } = await openSsh(host);
  try {
    const c = (await nodeDocker(conn, host, where, lifeline)).getContainer(AGENT_CONTAINER);
    const there = await c.inspect().then(() => true, () => false);
    if (there) await c.remove({ force: true });
    return { removed: there };
  } finally {
    conn.end();
  }
}

async function ensureImage(docker: Docker, local: Docker, image: string, where: string): Promise<boolean> {
  const present = await docker.getImage(image).inspect().then(() => true, () => false);
  if (present) return false;
  const exported = await local.getImage(image).get().catch((err: unknown) => {
    throw new ControllerError('UNREACHABLE', `${where}: the node has no image ${image}, and the controller's Docker (DOCKER_HOST) cannot give it: ${(err as Error).message}; build it with npm run image`);
  });
  const stream = await docker.loadImage(exported);
  await new Promise((resolve, reject) => docker.modem.followProgress(stream, (err) => (err ? reject(err) : resolve(undefined))));
  return true;
}

/** The desired config the serving agent starts from, in its state dir (0700), readable by root only. */
function writeConfig(conn: Client, stateDir: string, text: string, where: string): Promise<void> {
  return new Promise((resolve, reject) => {
    conn.sftp((err, sftp) => {
      if (err) return reject(new ControllerError('UNREACHABLE', `${where}: no SFTP: ${err.message}`));
      sftp.mkdir(stateDir, { mode: 0o700 }, () => {
        sftp.writeFile(join(stateDir, 'chassis.json'), text, { mode: 0o600 }, (werr) => {
          sftp.end();
          if (werr) reject(new ControllerError('UNREACHABLE', `${where}: cannot write ${join(stateDir, 'chassis.json')}: ${werr.message}`));
          else resolve();
        });
      });
    });
  });
}

/** Undefined once healthy; otherwise why not, after at most a minute. */
async function waitHealthy(c: Docker.Container): Promise<string | undefined> {
  const deadline = Date.now() + HEALTHY_WITHIN_MS;
  for (;;) {
    const s = (await c.inspect()).State;
    if (s.Health?.Status === 'healthy') return undefined;
    if (!s.Running && s.Status !== 'created') return `it ${s.Status} (exit ${s.ExitCode})${s.Error ? `: ${s.Error}` : ''}`;
    if (Date.now() > deadline) return `still ${s.Health?.Status ?? s.Status} after ${HEALTHY_WITHIN_MS / 1000} s`;
    await new Promise((r) => setTimeout(r, 500));
  }
}

