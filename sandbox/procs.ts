import net from 'node:net';
import { type ChildProcess, spawn, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * When OVN_CHASSIS_PID_REGISTRY names a folder (the test suite sets it), every
 * server started here is recorded there by pid, so a teardown can stop what a
 * crashed caller left behind.
 */
function registry(): string | undefined {
  return process.env.OVN_CHASSIS_PID_REGISTRY || undefined;
}

const made: string[] = [];
let exitHooked = false;

/**
 * A new folder under the system's temporary folder, removed by
 * removeTempDirs: at the latest when this process exits, and after each test
 * file (test/setup-file.ts). Everything the scripts and tests start keeps its
 * files in one of these, so a run leaves nothing on the disk.
 */
export function tempDir(prefix: string): string {
  if (!exitHooked) process.once('exit', removeTempDirs);
  exitHooked = true;
  const dir = mkdtempSync(join(tmpdir(), `ovn-chassis-${prefix}-`));
  made.push(dir);
  return dir;
}

/** Every mount point in this process's mount table. */
function mountPoints(): string[] {
  const decode = (p: string) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => decode(line.split(' ')[4] ?? ''));
}

/** What is mounted at or below `dir`. */
export function mountsUnder(dir: string, points = mountPoints()): string[] {
  return points.filter((p) => p === dir || p.startsWith(`${dir}/`));
}

/**
 * Removes every folder tempDir made. A folder with something still mounted
 * in it is kept for a later call, and named in the error: removing through a
 * mount would delete what is mounted there.
 */
export function removeTempDirs(): void {
  const kept: string[] = [];
  const points = mountPoints();
  for (const dir of made.splice(0)) {
    const mounts = mountsUnder(dir, points);
    if (mounts.length > 0) {
      made.push(dir);
      kept.push(`${dir} (mounted: ${mounts.join(', ')})`);
    } else {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
    }
  }
  if (kept.length > 0) throw new Error(`left temporary folders that still have mounts in them:\n  ${kept.join('\n  ')}`);
}

function register(pid: number, name: string): void {
  const dir = registry();
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, String(pid)), name);
}

function unregister(pid: number): void {
  const dir = registry();
  if (dir) rmSync(join(dir, String(pid)), { force: true });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !existsSync(`/proc/${pid}/stat`) || !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}

/**
 * CPU time a running process has used so far, in ms: each of its threads'
 * time on a CPU, in ns (/proc/PID/task/TID/schedstat). /proc/PID/stat counts
 * clock ticks of 10 ms, as much as a small fleet's whole run costs a process.
 */
export function cpuMsOf(pid: number): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return ns / 1e6;
}

/** CPU time of the children this process has waited for (an ovs-vsctl it ran), in ms: fields 16 and 17 of /proc/self/stat, in clock ticks. */
export function childrenCpuMs(): number {
  const f = readFileSync('/proc/self/stat', 'utf8').replace(/^.*\) /, '').split(' ');
  return (Number(f[13]) + Number(f[14])) * 10;
}

/** Sends `signal`, then SIGKILL if it is still there after `graceMs`; resolves once gone. */
export async function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM', graceMs = 3000): Promise<void> {
  try {
    process.kill(pid, signal);
  } catch {
    unregister(pid);
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive(pid) && Date.now() < deadline) await sleep(10);
  if (alive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
    while (alive(pid)) await sleep(10);
  }
  unregister(pid);
}

/** Kills every server still recorded in `dir`; returns what it had to kill. */
export function killRegistered(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const killed: string[] = [];
  for (const f of readdirSync(dir)) {
    const pid = Number(f);
    if (alive(pid)) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.push(`${pid} ${readFileSync(join(dir, f), 'utf8')}`);
      } catch {
        /* gone */
      }
    }
    rmSync(join(dir, f), { force: true });
  }
  return killed;
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  output: () => string;
}

/** Starts a server in the foreground (no --detach) so its pid is ours to stop. */
export function spawnServer(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): Spawned {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env, cwd: opts.cwd });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  register(child.pid, `${cmd} ${args.join(' ')}`);
  return { child, pid: child.pid, output: () => out };
}

/**
 * A helper of ours (a module in sandbox/) in a process of its own, so its
 * work is never counted as the caller's: `data` goes to it as a JSON file,
 * and it is waited for until it says it is ready (`helperStarted`). Resolves
 * with its pid, ours to stop.
 */
export async function startHelper(script: string, dir: string, name: string, data: unknown, what: string, args: string[] = []): Promise<number> {
  const input = join(dir, `${name}.json`);
  const ready = join(dir, `${name}.ready`);
  writeFileSync(input, JSON.stringify(data));
  const proc = spawnServer(process.execPath, [script, ...args, input, ready]);
  await waitFor(what, () => existsSync(ready), 120_000).catch((err: Error) => Promise.reject(new Error(`${err.message}\n${proc.output()}`)));
  return proc.pid;
}

/** In a helper started by startHelper: its arguments, its data, and how it says it is ready. */
export function helperStarted<T>(): { args: string[]; data: T; ready: () => void } {
  const argv = process.argv.slice(2);
  const [input, ready] = argv.slice(-2) as [string, string];
  return { args: argv.slice(0, -2), data: JSON.parse(readFileSync(input, 'utf8')) as T, ready: () => writeFileSync(ready, '') };
}

export function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  return execFileSync(cmd, args, { encoding: 'utf8', env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function waitFor<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** A TCP port on loopback that nothing listens on (it may be taken before it is used: callers retry or fail clearly). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}
