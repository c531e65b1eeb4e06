import { PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import { AgentError } from '../errors.js';
import { type RunResult, VsctlBackend, type VsctlRunner } from './vsctl.js';

/** Runs a command inside a container through the Docker API (an exec, argument vector, no shell). */
export async function dockerExec(docker: Docker, container: string, cmd: string[]): Promise<RunResult> {
  let exec: Docker.Exec;
  try {
    exec = await docker.getContainer(container).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
  } catch (err) {
    const status = (err as { statusCode?: number }).statusCode;
    const why = status === 404 ? 'no such container' : status === 409 ? 'the container is not running' : (err as Error).message;
    throw new AgentError('UNREACHABLE', `cannot exec in container ${container}: ${why}`, { cause: err });
  }
  // From here the command may have run: a failure no longer means nothing happened.
  try {
    return await finish(docker, exec, await exec.start({ hijack: true, stdin: false }));
  } catch (err) {
    throw new AgentError('OUTCOME_UNKNOWN', `lost dockerd while ${cmd[0]} ran in container ${container} (${(err as Error).message}): it may or may not have been made`, { cause: err });
  }
}

async function finish(docker: Docker, exec: Docker.Exec, stream: NodeJS.ReadWriteStream): Promise<RunResult> {
  const out = new PassThrough();
  const errOut = new PassThrough();
  const chunks: Buffer[] = [];
  const errChunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  errOut.on('data', (c: Buffer) => errChunks.push(c));
  docker.modem.demuxStream(stream, out, errOut);
  await new Promise<void>((resolve, reject) => {
    stream.on('end', resolve);
    stream.on('close', resolve);
    stream.on('error', reject);
  });
  const info = await exec.inspect();
  if (typeof info.ExitCode !== 'number') throw new Error('its exit code is unknown');
  return { code: info.ExitCode, stdout: Buffer.concat(chunks).toString('utf8'), stderr: Buffer.concat(errChunks).toString('utf8') };
}

/** ovs-vsctl inside the Open vSwitch container, as Kolla runs it, through the Docker API at `socketPath`. */
export function dockerVsctl(container: string, docker: Docker, socketPath: string): VsctlBackend {
  const run: VsctlRunner = async (args) => {
    try {
      return await dockerExec(docker, container, ['ovs-vsctl', ...args]);
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError('UNREACHABLE', `cannot reach dockerd at ${socketPath}: ${(err as Error).message}`, { cause: err });
    }
  };
  return new VsctlBackend(run, `docker ${container}`);
}
