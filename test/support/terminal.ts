import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, waitFor } from '../../sandbox/index.js';
import { CONTROLLER_BIN } from './cli.js';

/** A command in the foreground of bash in a real terminal (tmux), as an operator runs it; bash writes its exit status. */
export function inTerminal(name: string, argv: string[], dir: string, columns = 200) {
  const session = `ovn-chassis-${name}-${process.pid}`;
  const exitFile = join(dir, `${name}.exit`);
  run('tmux', ['new-session', '-d', '-s', session, '-x', String(columns), '-y', '50', 'bash', '-c', '"$@"; echo $? > "$0"; sleep 60', exitFile, process.execPath, CONTROLLER_BIN, ...argv]);
  const screen = () => spawnSync('tmux', ['capture-pane', '-p', '-t', session, '-S', '-200'], { encoding: 'utf8' }).stdout;
  return {
    screen,
    type: (text: string) => run('tmux', ['send-keys', '-t', session, text, 'Enter']),
    prompted: () => waitFor('the question', () => screen().includes("Only 'yes' will be accepted") || undefined, 30_000).catch((err: Error) => Promise.reject(new Error(`${err.message}; the terminal shows:\n${screen()}`))),
    exit: async () => {
      await waitFor(`${name} to end`, () => existsSync(exitFile) || undefined, 60_000).catch((err: Error) => Promise.reject(new Error(`${err.message}; the terminal shows:\n${screen()}`)));
      return Number(readFileSync(exitFile, 'utf8').trim());
    },
    close: () => spawnSync('tmux', ['kill-session', '-t', session]),
  };
}

