import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { spawnServer, stopPid, tempDir } from './procs.js';

/**
 * A real ovn-controller for one sandbox node: pointed at the node's
 * ovsdb-server (no ovs-vswitchd needed to register a chassis), with its own
 * run dir so several can share a machine.
 */
export class OvnController {
  readonly dir: string;
  pid = 0;
  /** Set when the process ended on its own: why, for test failures to show. */
  exited: string | undefined;
  output: () => string = () => '';

  private constructor(dir: string) {
    this.dir = dir;
  }

  /**
   * `netns`: run it inside that network namespace; `runDir`: its run dir when
   * it shares one with the node's ovs-vswitchd (it opens RUNDIR/br-int.mgmt).
   */
  static start(ovsDb: string, dir = tempDir('ovn-controller'), opts: { netns?: string; runDir?: string } = {}): OvnController {
    const c = new OvnController(dir);
    mkdirSync(dir, { recursive: true });
    const runDir = opts.runDir ?? dir;
    // Its control socket goes to OVN_RUNDIR (23.03 has no --unixctl).
    const argv = ['ovn-controller', ovsDb, `--pidfile=${join(dir, 'ovn-controller.pid')}`, `--log-file=${join(dir, 'ovn-controller.log')}`, '-vconsole:off', '-vfile:info'];
    const [cmd, ...args] = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : argv;
    const proc = spawnServer(cmd as string, args, { env: { ...process.env, OVS_RUNDIR: runDir, OVN_RUNDIR: runDir } });
    c.pid = proc.pid;
    c.output = proc.output;
    proc.child.once('exit', (code, signal) => {
      if (c.pid) c.exited = `ovn-controller exited (${signal ?? `code ${code}`}): ${proc.output().trim()}`;
    });
    return c;
  }

  get log(): string {
    return join(this.dir, 'ovn-controller.log');
  }

  async stop(): Promise<void> {
    if (this.pid) await stopPid(this.pid);
    this.pid = 0;
  }
}
