import type { Hook } from '../schemas/hooks.js';
import { AgentError } from './errors.js';
import { type NodeAccess, localNode } from './node.js';

export interface HookResult {
  ms: number;
  output: string;
}

function describe(h: Hook): string {
  return h.action === 'command' ? `command ${JSON.stringify(h.argv)}` : `${h.action} ${h.container}`;
}

/** Docker answers 304 when a container already is as asked: that is success, so hooks can be re-run. */
const alreadyThere = (err: unknown) => (err as { statusCode?: number }).statusCode === 304;

async function docker(node: NodeAccess, h: Exclude<Hook, { action: 'command' }>, deadline: number): Promise<string> {
  const c = (await node.docker(h.dockerSocket)).getContainer(h.container);
  const t = Math.max(1, Math.floor(h.timeoutS / 2));
  try {
    if (h.action === 'stop') await c.stop({ t }).catch((e: unknown) => (alreadyThere(e) ? undefined : Promise.reject(e)));
    else if (h.action === 'start') await c.start().catch((e: unknown) => (alreadyThere(e) ? undefined : Promise.reject(e)));
    else if (h.action === 'restart') await c.restart({ t });
    else {
      for (;;) {
        const info = await c.inspect();
        const health = info.State.Health?.Status;
        if (health === 'healthy' || (health === undefined && info.State.Running)) return `${h.container} is ${health ?? 'running'}`;
        if (Date.now() > deadline) throw new AgentError('HOOK_FAILED', `${h.container} is not healthy after ${h.timeoutS} s (state: ${health ?? info.State.Status})`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } catch (err) {
    if (err instanceof AgentError) throw err;
    const status = (err as { statusCode?: number }).statusCode;
    const why = status === 404 ? 'no such container' : (err as Error).message;
    throw new AgentError('HOOK_FAILED', `${describe(h)} failed: ${why}`, { cause: err });
  }
  const info = await c.inspect();
  return `${h.container} is ${info.State.Status}`;
}

async function command(node: NodeAccess, h: Extract<Hook, { action: 'command' }>): Promise<string> {
  const r = await node.run(h.argv, h.timeoutS * 1000);
  if (r.code === 0) return r.stdout.trim().slice(-2000);
  const why = r.timedOut ? `timed out after ${h.timeoutS} s` : r.code !== null ? `exit ${r.code}` : 'it did not run to an exit';
  throw new AgentError('HOOK_FAILED', `${describe(h)} failed (${why})${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
}

/** Runs one hook with its timeout; throws AgentError HOOK_FAILED saying which and why. */
export async function runHook(h: Hook, node: NodeAccess = localNode): Promise<HookResult> {
  const t0 = Date.now();
  const deadline = t0 + h.timeoutS * 1000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AgentError('HOOK_FAILED', `${describe(h)} did not finish within ${h.timeoutS} s`)), h.timeoutS * 1000 + 500);
  });
  try {
    const output = await Promise.race([h.action === 'command' ? command(node, h) : docker(node, h, deadline), timeout]);
    return { ms: Date.now() - t0, output };
  } finally {
    clearTimeout(timer);
  }
}
