import yargs from 'yargs';
import { EXIT_STATUS, UsageError, helpWidth, printResult, reportError, usageProblem, versionAsked } from '../cli/index.js';
import { LOG_JSON_FLAG } from '../common/log.js';
import { PROTOCOL_VERSION } from '../schemas/rpc.js';
import { formatVersion, versionInfo } from '../schemas/version.js';
import { agent } from './commands/agent.js';
import { apply } from './commands/apply.js';
import { diff } from './commands/diff.js';
import { hostkeys } from './commands/hostkeys.js';
import { importCommand } from './commands/import.js';
import { render } from './commands/render.js';
import { rollback } from './commands/rollback.js';
import { rollout } from './commands/rollout.js';
import { status } from './commands/status.js';
import { validate } from './commands/validate.js';

/** Every command, in the order --help lists them; each lives in its own module under commands/. */
const COMMANDS = [validate, render, diff, apply, status, rollout, rollback, importCommand, agent, hostkeys];
const NAMES = COMMANDS.map((c) => c.name.split(' ')[0] as string);

export async function main(argv: string[]): Promise<number> {
  let code = 0;
  const json = argv.includes('--json');
  if (versionAsked(argv)) {
    const v = versionInfo('ovn-chassis', PROTOCOL_VERSION);
    printResult(json, 'version', v, formatVersion(v));
    return 0;
  }
  const command = argv.find((w) => NAMES.includes(w)) ?? '';
  let parser = yargs(argv)
    .scriptName('ovn-chassis')
    .strict()
    .demandCommand(1, `name a command: ${NAMES.join(', ')}`);
  for (const c of COMMANDS) parser = c.register(parser, (n) => (code = n));
  parser = parser
    .fail((msg, err) => {
      throw err ?? new UsageError(usageProblem(msg, parser, NAMES));
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
    return reportError('ovn-chassis', command, err, json);
  }
  return code;
}
