import net from 'node:net';
import { chmodSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { openBackend } from '../agent/backends/open.js';
import { RpcSession, serveLines } from '../agent/rpc.js';
import { agentSocketIn } from '../agent/serving.js';
import { cpuMsOf, helperStarted, startHelper, stopPid } from './procs.js';

/** A sandbox node as its agent sees it: its state dir and its OVSDB. */
export interface HostedNode {
  stateDir: string;
  db: string;
}

/**
 * Answers the agent RPC on every node's socket (STATE_DIR/agent.sock), each
 * connection with its own session and OVSDB connection, as
 * `ovn-chassis-agent rpc` does for a controller that comes over SSH; the
 * controller's local transport finds the socket and talks to it.
 */
async function host(nodes: HostedNode[]): Promise<net.Server[]> {
  const servers: net.Server[] = [];
  for (const n of nodes) {
    const path = agentSocketIn(n.stateDir);
    mkdirSync(n.stateDir, { recursive: true, mode: 0o700 });
    rmSync(path, { force: true });
    const server = net.createServer({ allowHalfOpen: true }, (sock) => {
      sock.on('error', () => sock.destroy());
      void (async () => {
        const backend = await openBackend({ backend: 'ovsdb', db: n.db });
        try {
          await serveLines(sock, sock, new RpcSession({ backend, stateDir: n.stateDir }));
        } finally {
          await backend.close();
          sock.end();
        }
      })().catch(() => sock.destroy());
    });
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(path, resolve));
    chmodSync(path, 0o600);
    servers.push(server);
  }
  return servers;
}

/**
 * The sandbox's agents in a process of their own, as they are on real nodes,
 * so that a benchmark counts the controller's CPU apart from the nodes'.
 */
export class AgentHostProcess {
  readonly pid: number;

  private constructor(pid: number) {
    this.pid = pid;
  }

  static async start(dir: string, nodes: HostedNode[]): Promise<AgentHostProcess> {
    return new AgentHostProcess(await startHelper(fileURLToPath(import.meta.url), dir, 'agent-host', nodes, `the agents of ${nodes.length} nodes`));
  }

  /** CPU time (user and system) the agents have used so far, in ms. */
  cpuMs(): number {
    return cpuMsOf(this.pid);
  }

  async stop(): Promise<void> {
    await stopPid(this.pid);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { data, ready } = helperStarted<HostedNode[]>();
  const servers = await host(data);
  ready();
  process.once('SIGTERM', () => {
    for (const s of servers) s.close();
    process.exit(0);
  });
}
