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

  static start(ovsDb: string, dir = tempDir('ovn-controller')): OvnController {
    const c = new OvnController(dir);
    const proc = spawnServer(
      'ovn-controller',
      // Its control socket goes to OVN_RUNDIR (23.03 has no --unixctl).
      [ovsDb, `--pidfile=${join(dir, 'ovn-controller.pid')}`, `--log-file=${join(dir, 'ovn-controller.log')}`, '-vconsole:off', '-vfile:info'],
      { env: { ...process.env, OVS_RUNDIR: dir, OVN_RUNDIR: dir } },
    );
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
