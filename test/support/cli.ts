import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { OUTPUT_COMMANDS, type OutputCommand, outputSchema } from '../../schemas/output.js';

export const AGENT_BIN = fileURLToPath(new URL('../../bin/ovn-chassis-agent.js', import.meta.url));
export const CONTROLLER_BIN = fileURLToPath(new URL('../../bin/ovn-chassis.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a CLI of ours the way an operator does (a separate process, argument vector). */
export function runCli(bin: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.end(opts.input ?? '');
    child.on('close', (code) => {
      try {
        if (args.includes('--json') && stdout.trim()) checkedOutput(bin, args, stdout);
        resolve({ code: code ?? -1, stdout, stderr });
      } catch (err) {
        reject(err);
      }
    });
  });
}

/**
 * Every `--json` output a test sees is held to its command's published
 * schema (schemas/output/): a field renamed or dropped fails the test that
 * printed it.
 */
export function checkedOutput(bin: string, args: string[], stdout: string): unknown {
  const program = basename(bin, '.js');
  const command = args.includes('--version') ? 'version' : args.find((a) => OUTPUT_COMMANDS.includes(`${program} ${a}` as OutputCommand));
  if (!command) throw new Error(`${program} ${args.join(' ')}: --json output from a command without a published schema`);
  const value = JSON.parse(stdout) as unknown;
  const checked = outputSchema(`${program} ${command}` as OutputCommand).safeParse(value);
  if (!checked.success) throw new Error(`${program} ${command} --json does not match its schema:\n${checked.error.message}\n${stdout.slice(0, 2000)}`);
  return value;
}

/**
 * A fleet command's `--json` output as its list of nodes, carrying the
 * envelope's other fields too (`staleChassis`, `error`, `nodes`…): what a
 * test most often reads first is a node.
 */
export function nodesOf<T = Record<string, unknown>>(stdout: string): T[] & Record<string, unknown> {
  const parsed = JSON.parse(stdout || 'null') as { nodes?: T[] } | null;
  return Object.assign([...(parsed?.nodes ?? [])], parsed ?? {}) as T[] & Record<string, unknown>;
}
