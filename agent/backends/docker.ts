import { AgentError } from '../errors.js';
import { DockerApiError, type DockerApi } from '../docker-api.js';
import { type RunResult, VsctlBackend, type VsctlRunner } from './vsctl.js';

/** Runs a command inside a container through the Docker API (an exec, argument vector, no shell). */
export async function dockerExec(docker: DockerApi, container: string, cmd: string[]): Promise<RunResult> {
  let id: string;
  try {
    id = await docker.execCreate(container, cmd);
  } catch (err) {
    const status = err instanceof DockerApiError ? err.status : undefined;
    const why = status === 404 ? 'no such container' : status === 409 ? 'the container is not running' : (err as Error).message;
    throw new AgentError('UNREACHABLE', `cannot exec in container ${container}: ${why}`, { cause: err });
  }
  // From here the command may have run: a failure no longer means nothing happened.
  try {
    return await docker.execRun(id);
  } catch (err) {
    throw new AgentError('OUTCOME_UNKNOWN', `lost dockerd while ${cmd[0]} ran in container ${container} (${(err as Error).message}): it may or may not have been made`, { cause: err });
  }
}

/** ovs-vsctl inside the Open vSwitch container, as Kolla runs it, through the Docker API at `socketPath`. */
export function dockerVsctl(container: string, docker: DockerApi, socketPath: string): VsctlBackend {
  const exec = async (cmd: string[]) => {
    try {
      return await dockerExec(docker, container, cmd);
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw new AgentError('UNREACHABLE', `cannot reach dockerd at ${socketPath}: ${(err as Error).message}`, { cause: err });
    }
  };
  const run: VsctlRunner = (args) => exec(['ovs-vsctl', ...args]);
  return new VsctlBackend(run, `docker ${container}`, () => exec(['ovsdb-client', 'backup']));
}
