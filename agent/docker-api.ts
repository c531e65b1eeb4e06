/**
 * The few Docker Engine API calls the agent makes on its node: run a program
 * in a container (an exec, argument vector, no shell) and start, stop,
 * restart or inspect a container for hooks. Our own client rather than
 * dockerode because dockerode brings gRPC, protobuf and an SSH client for
 * BuildKit, as much code as the rest of the agent, which a resident agent
 * pays for in memory. The controller's image work (load, create, wait healthy) keeps
 * dockerode. Every answer is bounded and checked: dockerd is outside the tool.
 */
import http from 'node:http';
import { z } from 'zod';

/** How dockerd is reached: its unix socket here, or an agent whose connections are forwards (direct mode). */
export type DockerTarget = { socketPath: string } | { agent: http.Agent };

/** How long dockerd may leave a request unanswered (silent, mid-answer) before it is given up on. */
const DEFAULT_TIMEOUT_MS = 60_000;
/** What a JSON answer may hold before it is refused. */
const MAX_JSON = 1024 * 1024;
/** What an exec may print before it is refused, as for local programs. */
const MAX_OUTPUT = 4 * 1024 * 1024;
/** How often an exec's end is asked for before its exit code is called unknown (20 ms apart). */
const EXIT_CODE_TRIES = 50;
/** A stream frame's header: stream type, three zero bytes, payload length (big-endian). */
const FRAME_HEADER = 8;

/** A call dockerd answered with an error status; `status` is its HTTP status (404 no such container, 409 not running). */
export class DockerApiError extends Error {
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.name = 'DockerApiError';
    this.status = status;
  }
}

const containerState = z.object({
  Status: z.string(),
  Running: z.boolean(),
  Health: z.object({ Status: z.string() }).optional(),
});
export type ContainerState = z.infer<typeof containerState>;

const containerInfo = z.object({ State: containerState });
const execCreated = z.object({ Id: z.string().regex(/^[0-9a-f]{1,128}$/) });
const execInfo = z.object({ ExitCode: z.number().int().nullable(), Running: z.boolean() });
const errorBody = z.object({ message: z.string() });

export interface ExecOutput {
  code: number;
  stdout: string;
  stderr: string;
}

interface Answer {
  status: number;
  body: Buffer;
}

export class DockerApi {
  private readonly target: DockerTarget;
  private readonly timeoutMs: number;

  constructor(target: DockerTarget, opts: { timeoutMs?: number } = {}) {
    this.target = target;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  /** One request; the answer's body is read whole, up to `max` bytes. */
  private request(method: string, path: string, body: unknown, max: number): Promise<Answer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const headers = payload ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {};
    const where = 'socketPath' in this.target ? { socketPath: this.target.socketPath, agent: false as const } : { agent: this.target.agent };
    return new Promise((resolve, reject) => {
      // A dockerd that stops answering (a wedged daemon, a forward that stalls) must not hold the agent
      // forever. Our own timer: a forwarded connection (an SSH channel) has no socket timeout.
      let timer: NodeJS.Timeout | undefined;
      const quiet = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          // Said first: what the destroyed connection emits after (a close) must not pass for an answer.
          reject(new Error(`dockerd did not answer ${method} ${path} within ${this.timeoutMs / 1000} s`));
          req.destroy();
        }, this.timeoutMs);
      };
      const settle = (fn: () => void) => {
        clearTimeout(timer);
        fn();
      };
      const req = http.request({ ...where, method, path, headers }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          quiet();
          size += c.length;
          if (size > max) {
            settle(() => reject(new Error(`dockerd's answer to ${method} ${path} is over ${max} bytes`)));
            res.destroy();
          } else chunks.push(c);
        });
        const answered = () => settle(() => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('end', answered);
        res.on('error', (err) => settle(() => reject(err)));
        // dockerd ends an exec's output by closing the connection it took over, with no length said.
        res.on('close', answered);
      });
      quiet();
      req.on('error', (err) => settle(() => reject(err)));
      req.end(payload);
    });
  }

  /** A call whose success is one of `ok`; dockerd's own message otherwise. */
  private async call(method: string, path: string, body: unknown, ok: number[], max = MAX_JSON): Promise<Answer> {
    const a = await this.request(method, path, body, max);
    if (ok.includes(a.status)) return a;
    throw new DockerApiError(a.status, `dockerd answered ${a.status} to ${method} ${path}: ${messageOf(a.body)}`);
  }

  private async json<T>(method: string, path: string, body: unknown, schema: z.ZodType<T>, ok = [200]): Promise<T> {
    const a = await this.call(method, path, body, ok);
    let parsed: unknown;
    try {
      parsed = JSON.parse(a.body.toString('utf8'));
    } catch {
      throw new Error(`dockerd's answer to ${method} ${path} is not JSON`);
    }
    const r = schema.safeParse(parsed);
    if (!r.success) throw new Error(`dockerd's answer to ${method} ${path} is not what the API says: ${r.error.issues[0]?.message ?? 'invalid'} at ${r.error.issues[0]?.path.join('.') ?? ''}`);
    return r.data;
  }

  async inspect(container: string): Promise<ContainerState> {
    return (await this.json('GET', `/containers/${encodeURIComponent(container)}/json`, undefined, containerInfo)).State;
  }

  /** Already running is success (304), so a hook can be re-run. */
  async start(container: string): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(container)}/start`, undefined, [204, 304]);
  }

  /** Already stopped is success (304). `t`: seconds before dockerd kills it. */
  async stop(container: string, t: number): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(container)}/stop?t=${t}`, undefined, [204, 304]);
  }

  async restart(container: string, t: number): Promise<void> {
    await this.call('POST', `/containers/${encodeURIComponent(container)}/restart?t=${t}`, undefined, [204]);
  }

  /** Creates the exec: failing here means nothing ran. */
  async execCreate(container: string, cmd: string[]): Promise<string> {
    const spec = { Cmd: cmd, AttachStdout: true, AttachStderr: true, AttachStdin: false, Tty: false };
    return (await this.json('POST', `/containers/${encodeURIComponent(container)}/exec`, spec, execCreated, [201])).Id;
  }

  /** Runs a created exec to its end: its output, then its exit code. */
  async execRun(id: string): Promise<ExecOutput> {
    const a = await this.call('POST', `/exec/${id}/start`, { Detach: false, Tty: false }, [200, 101], MAX_OUTPUT + 1024 * FRAME_HEADER);
    const { stdout, stderr } = demux(a.body);
    // dockerd may close the output a moment before it records the exit code.
    for (let tries = 0; ; tries++) {
      const info = await this.json('GET', `/exec/${id}/json`, undefined, execInfo);
      if (!info.Running && info.ExitCode !== null) return { code: info.ExitCode, stdout, stderr };
      if (tries === EXIT_CODE_TRIES) throw new Error('its exit code is unknown');
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function messageOf(body: Buffer): string {
  try {
    const r = errorBody.safeParse(JSON.parse(body.toString('utf8')));
    if (r.success) return r.data.message.slice(0, 500);
  } catch {
    // not JSON: said below as text
  }
  return body.toString('utf8').trim().slice(0, 500) || '(no message)';
}

/** Splits Docker's multiplexed stream (a frame per write: 1 stdout, 2 stderr). */
export function demux(raw: Buffer): { stdout: string; stderr: string } {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let at = 0;
  while (at < raw.length) {
    if (raw.length - at < FRAME_HEADER) throw new Error('dockerd cut the exec output inside a frame header');
    const kind = raw[at];
    const size = raw.readUInt32BE(at + 4);
    const end = at + FRAME_HEADER + size;
    if (end > raw.length) throw new Error('dockerd cut the exec output inside a frame');
    if (kind === 1) out.push(raw.subarray(at + FRAME_HEADER, end));
    else if (kind === 2) err.push(raw.subarray(at + FRAME_HEADER, end));
    else throw new Error(`dockerd sent an exec output frame of unknown stream ${kind}`);
    at = end;
  }
  return { stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
