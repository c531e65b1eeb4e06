import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Daemon } from '../agent/daemon.js';
import { createLogger } from '../common/log.js';
import { cpuMsOf, helperStarted, startHelper, stopPid } from './procs.js';

/** A sandbox node as its pulling agent sees it: its name, its state dir and its OVSDB. */
export interface PulledNode {
  name: string;
  stateDir: string;
  db: string;
}

/**
 * Many nodes' pulling agents in one process: each a whole `serve --pull`
 * daemon, with its own session to the config database (monitoring only its
 * row), its own connection to its node's ovsdb-server, and its own status
 * row. A fleet of a thousand pulling agents on a machine of two cores, said so.
 */
export class PullAgentHostProcess {
  readonly pid: number;

  private constructor(pid: number) {
    this.pid = pid;
  }

  static async start(dir: string, endpoints: string[], nodes: PulledNode[]): Promise<PullAgentHostProcess> {
    return new PullAgentHostProcess(await startHelper(fileURLToPath(import.meta.url), dir, 'pull-agent-host', { endpoints, nodes }, `the pulling agents of ${nodes.length} nodes`));
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
  const { data, ready } = helperStarted<{ endpoints: string[]; nodes: PulledNode[] }>();
  const log = createLogger('pull-agent-host', 'warn');
  const daemons = data.nodes.map((n) => new Daemon({
    backend: { backend: 'ovsdb', db: n.db },
    stateDir: n.stateDir,
    // Beside the push agents' sockets, which another host process may still answer on.
    socketPath: join(n.stateDir, 'pull-agent.sock'),
    pull: { endpoints: data.endpoints.join(','), host: n.name },
    log,
  }));
  for (const d of daemons) await d.start();
  ready();
  process.once('SIGTERM', () => void Promise.all(daemons.map((d) => d.stop())).finally(() => process.exit(0)));
}
