import { errorCodeOf } from '../schemas/errors.js';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type Docker from 'dockerode';
import type { Client } from 'ssh2';
import { DEFAULT_STATE_DIR, type NodeAccess, secureStateDir } from '../agent/index.js';
import { printable } from '../common/text.js';
import { DEFAULT_DOCKER_SOCKET, installKind, ovsdbSocketDir } from '../schemas/backend.js';
import { AGENT_IMAGE } from '../schemas/version.js';
import { AGENT_CONFIG_FILE, type UnitInstall, HEALTHY_WITHIN_MS, installUnit, removeUnit, serveArgv, unitState } from './agent-unit.js';
import { ControllerError, afterChange } from './errors.js';
import { type RunOptions, connectAgent } from './fleet.js';
import type { Host } from './inventory.js';
import type { Lifeline } from './transport/lifeline.js';

/** The agent's container on a node, as Kolla names its containers. */
export const AGENT_CONTAINER = 'ovn_chassis_agent';

/** What install did on a node: which image runs (and whether it had to be loaded), or where the unit's files went. */
export type AgentInstallResult = { kind: 'container'; image: string; loaded: boolean; replaced?: string } | UnitInstall;

export function describeInstall(r: AgentInstallResult): string {
  return r.kind === 'container'
    ? `${r.image} healthy${r.replaced ? ` (was ${r.replaced})` : ''}`
    : `${r.unit} serving ${r.version}${r.replaced ? ` (was ${r.replaced})` : ''}, ${r.executable}`;
}

/** Runs `fn` with the node reached over SSH (files, programs, its Docker API), and closes the connection. */
async function onNode<T>(host: Host, fn: (node: NodeAccess, where: string, conn: Client, lifeline: Lifeline) => Promise<T>): Promise<T> {
  if (host.transport.kind === 'ssh' && host.transport.via === 'direct') {
    throw new ControllerError('INVALID_CONFIG', `${host.name}: transport.via is direct, which keeps nothing of ours on the node; set via: agent to manage an agent there`);
  }
  // ssh2 is loaded once a node is reached over SSH: loading it is a good part of every command's start-up.
  const [{ openSsh }, { sshNode }] = await Promise.all([import('./transport/ssh.js'), import('./transport/ssh-node.js')]);
  const { conn, where, lifeline } = await openSsh(host);
  try {
    return await fn(await sshNode(conn, where, lifeline), where, conn, lifeline);
  } finally {
    conn.end();
  }
}

/** The node's Docker API socket (the docker backend's, or the one named for install). */
function nodeDockerSocket(host: Host): string {
  return ('dockerSocket' in host.agent ? host.agent.dockerSocket : undefined) ?? DEFAULT_DOCKER_SOCKET;
}

/** The node's Docker API, reached through SSH forwards of its socket. */
async function nodeDocker(conn: Client, host: Host, where: string, lifeline: Lifeline): Promise<Docker> {
  const socket = nodeDockerSocket(host);
  const { forwardedDocker } = await import('./transport/ssh-node.js');
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
  let reach: string | undefined;
  if (a.backend === 'ovsdb') reach = ovsdbSocketDir(a);
  else if (a.backend === 'docker') reach = a.dockerSocket;
  else throw new ControllerError('INVALID_CONFIG', `${host.name}: a vsctl-backend agent needs ovs-vsctl beside it; install it with agent.install: systemd`);
  // A pulling agent's PEM files for the config database, read-only at the same paths.
  const pem = host.pull?.tls ? [...new Set(Object.values(host.pull.tls).map(dirname))].map((d) => `${d}:${d}:ro`) : [];
  const binds = [`${stateDir}:${stateDir}`, ...(reach ? [`${reach}:${reach}`] : []), ...pem];
  return {
    name: AGENT_CONTAINER,
    Image: image,
    Cmd: serveArgv(host, stateDir),
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
  if (installKind(host.agent) === 'systemd') {
    const executable = readFileSync(opts.executable);
    return onNode(host, (node, where) => installUnit(node, host, where, executable, opts.upgrade === true));
  }
  const image = opts.image ?? AGENT_IMAGE;
  return onNode(host, async (node, where, conn, lifeline) => {
    const docker = await nodeDocker(conn, host, where, lifeline);
    const loaded = await ensureImage(docker, opts.local, image, where);
    const stateDir = host.transport.stateDir ?? DEFAULT_STATE_DIR;
    const old = await docker.getContainer(AGENT_CONTAINER).inspect().catch(() => undefined);
    await writeConfig(node, host, stateDir);
    // From the first write on, a failure failed on a changed node.
    return afterChange(async () => {
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
      return { kind: 'container' as const, image, loaded, ...(old ? { replaced: old.Config.Image } : {}) };
    });
  });
}

/** Removes the agent as it was installed (its container, or its unit and files); the node's Open vSwitch and the snapshots in its state dir stay as they are. */
export function removeAgent(host: Host): Promise<{ removed: boolean; kind: 'container' | 'systemd' }> {
  if (installKind(host.agent) === 'systemd') return onNode(host, async (node, where) => ({ ...(await removeUnit(node, host, where)), kind: 'systemd' as const }));
  return onNode(host, async (_node, where, conn, lifeline) => {
    const c = (await nodeDocker(conn, host, where, lifeline)).getContainer(AGENT_CONTAINER);
    const there = await c.inspect().then(() => true, () => false);
    if (there) await c.remove({ force: true });
    return { removed: there, kind: 'container' as const };
  });
}

/** One node's agent as `agent status` shows it: what it says of itself, and how its node runs it. */
export interface AgentStatus {
  agent?: string;
  protocol?: number;
  backend?: string;
  serving?: boolean;
  uptimeS?: number;
  /** The unit's or the container's state, as the node's systemd or Docker says. */
  install: string;
  /** Why the agent did not answer. */
  error?: { code: string; message: string };
}

export async function agentStatus(host: Host, opts: Pick<RunOptions, 'stateRoot' | 'log'>): Promise<AgentStatus> {
  const [hello, install] = await Promise.all([
    (async () => {
      const agent = await connectAgent(host, opts);
      try {
        return await agent.hello();
      } finally {
        await agent.close().catch(() => undefined);
      }
    })().catch((err: Error & { code?: unknown }) => ({ error: { code: errorCodeOf(err), message: err.message } })),
    installState(host).catch((err: Error) => `unknown (${printable(err.message).slice(0, 200)})`),
  ]);
  return { ...hello, install };
}

export function describeAgent(s: AgentStatus): string {
  return s.agent ? `agent ${s.agent}, ${s.serving ? 'serving' : 'one-shot'}, ${s.install}` : `no answer (${s.error?.code}), ${s.install}`;
}

/** How the node runs its agent, as the node's systemd or Docker says: the unit's or the container's state. */
export function installState(host: Host): Promise<string> {
  if (host.transport.kind !== 'ssh') return Promise.resolve('-');
  if (installKind(host.agent) === 'systemd') return onNode(host, (node) => unitState(node));
  return onNode(host, async (_node, where, conn, lifeline) => {
    const state = await (await nodeDocker(conn, host, where, lifeline)).getContainer(AGENT_CONTAINER).inspect().then((c) => c.State, () => undefined);
    if (!state) return 'no container';
    return `container ${printable(state.Status).slice(0, 20)}${state.Health?.Status ? ` (${printable(state.Health.Status).slice(0, 20)})` : ''}`;
  });
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

/** The desired config the serving agent starts from, in its state dir (ours and private, or refused), readable by root only. */
async function writeConfig(node: NodeAccess, host: Host, stateDir: string): Promise<void> {
  if (!(await node.files.lstat(dirname(stateDir)))) await node.files.mkdir(dirname(stateDir), 0o755);
  await secureStateDir(node.files, stateDir);
  if (!host.pull) await node.files.writeAtomic(join(stateDir, AGENT_CONFIG_FILE), `${JSON.stringify(host.chassis, null, 2)}\n`, 0o600);
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

