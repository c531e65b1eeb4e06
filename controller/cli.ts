import { runProgram } from '../cli/index.js';
import { agent } from './commands/agent.js';
import { apply } from './commands/apply.js';
import { diff } from './commands/diff.js';
import { hostkeys } from './commands/hostkeys.js';
import { importCommand } from './commands/import.js';
import { publishCommand } from './commands/publish.js';
import { render } from './commands/render.js';
import { rollback } from './commands/rollback.js';
import { rollout } from './commands/rollout.js';
import { status } from './commands/status.js';
import { validate } from './commands/validate.js';

/** Every command, in the order --help lists them; each lives in its own module under commands/. */
const COMMANDS = [validate, render, diff, apply, status, rollout, rollback, publishCommand, importCommand, agent, hostkeys];
const NAMES = COMMANDS.map((c) => c.name.split(' ')[0] as string);

export function main(argv: string[]): Promise<number> {
  let code = 0;
  return runProgram('ovn-chassis', argv, NAMES, (y) => COMMANDS.reduce((p, c) => c.register(p, (n) => (code = n)), y), () => code);
}
