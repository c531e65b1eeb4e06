/**
 * What both command-line programs share: exit codes, help width, the
 * "did you mean" for a mistyped flag or command, the prompt, how a result
 * reaches stdout, and the one error reporter (a typed code, the message, a hint).
 */
import { createInterface } from 'node:readline/promises';
import yargs, { type Argv } from 'yargs';
import { LOG_JSON_FLAG } from '../common/log.js';
import { ERROR_CODES, errorCodeOf, hintOf } from '../schemas/errors.js';
import { envelope } from '../schemas/output.js';
import { PROTOCOL_VERSION } from '../schemas/rpc.js';
import { formatVersion, versionInfo } from '../schemas/version.js';
import { closest, printable } from '../common/text.js';

export const EXIT = { OK: 0, ERROR: 1, CHANGES: 2, PARTIAL: 3 } as const;

export const EXIT_STATUS = `Exit status:
  0  done, or nothing to change
  1  an error, and no node was changed
  2  changes found (diff, status) or versions skewed (agent status)
  3  partial: some nodes failed, or a node was (or may have been) changed before an error; each is named`;

/** Help as wide as the terminal (up to 120 columns); unwrapped when it goes to a file or a pipe. */
export function helpWidth(): number | null {
  return process.stdout.isTTY && process.stdout.columns ? Math.min(120, process.stdout.columns) : null;
}

/** A command's usage line, naming its required options: `$0 rollout --inventory <inventory> --batch <batch> [options]`. */
export function usageLine(y: unknown, command: string): string {
  // yargs knows the demanded options at run time; its typings do not say so.
  const demanded = Object.keys((y as { getDemandedOptions(): Record<string, unknown> }).getDemandedOptions());
  return ['$0', command, ...demanded.map((o) => `--${o} <${o}>`), '[options]'].join(' ');
}

/** A bad command line: yargs' complaint, with what was most likely meant. */
export class UsageError extends Error {
  readonly code = 'USAGE';
}

/** yargs' complaint about the command line, with what a mistyped flag or command most likely meant. */
export function usageProblem(msg: string, y: unknown, commands: string[] = []): string {
  const m = /^Unknown arguments?: (.*)$/.exec(msg);
  if (!m) return msg;
  // yargs has the options it knows at run time; its typings do not say so.
  const options = (y as { getOptions(): { key: Record<string, unknown> } }).getOptions().key;
  const known = Object.keys(options).filter((k) => k.length > 1 && k !== '$0');
  const hints = (m[1] as string).split(', ').filter((w) => w.length > 1).flatMap((word) => {
    const meant = closest(word, [...known, ...commands]);
    return meant ? [`${!commands.includes(meant) ? '--' : ''}${word}: did you mean ${commands.includes(meant) ? meant : `--${meant}`}?`] : [];
  });
  return hints.length > 0 ? `${msg}\n${hints.join('\n')}` : msg;
}

/** `--version` anywhere before a `--`. */
export const versionAsked = (argv: string[]) => argv.includes('--version') && !argv.slice(0, argv.indexOf('--version')).includes('--');

/** A prompt is shown only with a person at the terminal, and without --yes. */
export const willAsk = (yes: boolean) => !yes && Boolean(process.stdin.isTTY && process.stderr.isTTY);

/**
 * At a terminal, says what the command will do and asks; `--yes`, or no
 * terminal (a script, cron, CI), goes on without asking.
 */
export async function confirmed(yes: boolean, what: string): Promise<boolean> {
  if (!willAsk(yes)) return true;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${what.split('\n').map(printable).join('\n')}\n\nDo you want to go on? Only 'yes' will be accepted (--yes skips this question): `);
    return answer.trim() === 'yes';
  } finally {
    rl.close();
  }
}

/** A result on stdout: the versioned JSON envelope, or text whose every line is shown, never obeyed (a node's words are in it). */
export function printResult(json: boolean, command: string, body: object, human: string): void {
  process.stdout.write(json ? `${JSON.stringify(envelope(command, body), null, 2)}\n` : `${human.split('\n').map(printable).join('\n')}\n`);
}

/** What a failure left on a node: said by the error, or implied by a write whose answer was lost. */
export function changedBy(err: unknown): 'changed' | 'maybe-changed' | undefined {
  const changed = (err as { changed?: unknown } | null)?.changed;
  if (changed === 'changed' || changed === 'maybe-changed') return changed;
  return errorCodeOf(err) === 'OUTCOME_UNKNOWN' ? 'maybe-changed' : undefined;
}

/**
 * The one way either program reports the error a command ended with: on
 * stderr `PROGRAM: message` and a hint, in `--json` the same as
 * `error: {code, message, hint, changed}`. Exit 1 says no node was
 * changed; a failure after a change (or perhaps one) exits 3.
 */
export function reportError(program: string, command: string, err: unknown, json: boolean): number {
  const code = errorCodeOf(err);
  const message = err instanceof Error ? err.message : String(err);
  const hint = hintOf(code);
  const changed = changedBy(err);
  if (json) printResult(true, command, { error: { code, message, ...(hint ? { hint } : {}), ...(changed ? { changed } : {}) } }, '');
  const lines = [`${program}: ${message}`, ...(code === 'INTERNAL' ? [`(${ERROR_CODES.INTERNAL.meaning})`] : []), ...(hint ? [`hint: ${hint}`] : [])];
  process.stderr.write(`${lines.join('\n').split('\n').map(printable).join('\n')}\n`);
  return changed ? EXIT.PARTIAL : EXIT.ERROR;
}

/**
 * Runs one of the two programs the same way: `--version`, then its
 * commands (`build` adds them) under the rules both share (unknown flags
 * refused with what was likely meant, completion, help as wide as the
 * terminal with the Exit status), and any error through reportError.
 * Resolves with the exit code: the command's (`code()`), or the error's.
 */
export async function runProgram(program: string, argv: string[], commands: string[], build: (y: Argv) => Argv, code: () => number): Promise<number> {
  const json = argv.includes('--json');
  if (versionAsked(argv)) {
    const v = versionInfo(program, PROTOCOL_VERSION);
    printResult(json, 'version', v, formatVersion(v));
    return EXIT.OK;
  }
  const parser: Argv = build(yargs(argv).scriptName(program).strict().demandCommand(1, `name a command: ${commands.join(', ')}`))
    .fail((msg, err) => {
      throw err ?? new UsageError(usageProblem(msg, parser, commands));
    })
    .option(LOG_JSON_FLAG.slice(2), { type: 'boolean', default: false, global: true, describe: 'log JSON lines to stderr (default: text a person can read, at a terminal or not)' })
    .recommendCommands()
    .completion('completion', 'print a bash completion script (source it, or put it in /etc/bash_completion.d)')
    .epilog(EXIT_STATUS)
    .wrap(helpWidth())
    .help()
    .version(false);
  try {
    await parser.parseAsync();
  } catch (err) {
    return reportError(program, argv.find((w) => commands.includes(w)) ?? '', err, json);
  }
  return code();
}
