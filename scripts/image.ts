/**
 * npm run image: builds the Docker image ovn-chassis-agent:<version> from
 * packaging/Dockerfile (FROM scratch: no registry), with the single executable
 * and the libraries it links, through the Docker API that DOCKER_HOST names
 * (default /var/run/docker.sock).
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Docker from 'dockerode';
import { AGENT_IMAGE } from '../schemas/version.js';
import { buildExecutables } from './package.js';
import { runIfMain } from './lib/main.js';


/** The libraries an executable links, as ldd resolves them here. */
function linkedLibraries(exe: string): string[] {
  return execFileSync('ldd', [exe], { encoding: 'utf8' })
    .split('\n')
    .map((l) => /(\/\S+)\s+\(0x/.exec(l)?.[1] ?? /^\s*(\/\S+)\s+\(0x/.exec(l)?.[1])
    .filter((p): p is string => p !== undefined);
}

export async function buildImage(docker = new Docker(), context = 'dist/image'): Promise<string> {
  rmSync(context, { recursive: true, force: true });
  const rootfs = join(context, 'rootfs');
  const [, agent] = (await buildExecutables(join(context, 'pkg'))) as [string, string];
  mkdirSync(join(rootfs, 'usr/bin'), { recursive: true });
  copyFileSync(agent, join(rootfs, 'usr/bin/ovn-chassis-agent'));
  for (const lib of linkedLibraries(agent)) {
    mkdirSync(join(rootfs, dirname(lib)), { recursive: true });
    cpSync(lib, join(rootfs, lib), { dereference: true });
  }
  for (const d of ['tmp', 'etc/ovn-chassis', 'run/openvswitch', 'var/lib/ovn-chassis']) mkdirSync(join(rootfs, d), { recursive: true, mode: 0o700 });
  rmSync(join(context, 'pkg'), { recursive: true });
  copyFileSync('packaging/Dockerfile', join(context, 'Dockerfile'));
  const tag = AGENT_IMAGE;
  const stream = await docker.buildImage({ context, src: ['Dockerfile', 'rootfs'] }, { t: tag });
  await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (err, out) => {
      const failed = (out as { error?: string }[] | undefined)?.find((o) => o.error);
      if (err || failed) reject(err ?? new Error(failed?.error));
      else resolve(undefined);
    }),
  );
  return tag;
}

runIfMain('image.js', 'image', async () => `${await buildImage()}\n`);
