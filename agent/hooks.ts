import { type Hook, describeHook } from '../schemas/hooks.js';
import { DockerApiError } from './docker-api.js';
import { AgentError } from './errors.js';
import { type NodeAccess, localNode } from './node.js';

export interface HookResult {
  ms: number;
  output: string;
}

async function docker(node: NodeAccess, h: Exclude<Hook, { action: 'command' }>, deadline: number): Promise<string> {
  const api = await node.docker(h.dockerSocket);
  const t = Math.max(1, Math.floor(h.timeoutS / 2));
  try {
    if (h.action === 'stop') await api.stop(h.container, t);
    else if (h.action === 'start') await api.start(h.container);
    else if (h.action === 'restart') await api.restart(h.container, t);
    else {
      for (;;) {
        const state = await api.inspect(h.container);
        const health = state.Health?.Status;
        if (health === 'healthy' || (health === undefined && state.Running)) return `${h.container} is ${health ?? 'running'}`;
        if (Date.now() > deadline) throw new AgentError('HOOK_FAILED', `${h.container} is not healthy after ${h.timeoutS} s (state: ${health ?? state.Status})`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  } catch (err) {
    if (err instanceof AgentError) throw err;
    const why = err instanceof DockerApiError && err.status === 404 ? 'no such container' : (err as Error).message;
    throw new AgentError('HOOK_FAILED', `${describeHook(h)} failed: ${why}`, { cause: err });
  }
  return `${h.container} is ${(await api.inspect(h.container)).Status}`;
}

async function command(node: NodeAccess, h: Extract<Hook, { action: 'command' }>): Promise<string> {
  const r = await node.run(h.argv, h.timeoutS * 1000);
  if (r.code === 0) return r.stdout.trim().slice(-2000);
  const why = r.timedOut ? `timed out after ${h.timeoutS} s` : r.code !== null ? `exit ${r.code}` : 'it did not run to an exit';
  throw new AgentError('HOOK_FAILED', `${describeHook(h)} failed (${why})${r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` : ''}`);
}

/** Runs one hook with its timeout; throws AgentError HOOK_FAILED saying which and why. */
export async function runHook(h: Hook, node: NodeAccess = localNode): Promise<HookResult> {
  const t0 = Date.now();
  const deadline = t0 + h.timeoutS * 1000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AgentError('HOOK_FAILED', `${describeHook(h)} did not finish within ${h.timeoutS} s`)), h.timeoutS * 1000 + 500);
  });
  try {
    const output = await Promise.race([h.action === 'command' ? command(node, h) : docker(node, h, deadline), timeout]);
    return { ms: Date.now() - t0, output };
  } finally {
    clearTimeout(timer);
  }
}
