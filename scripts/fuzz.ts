/**
 * npm run fuzz [-- --seconds S] [-- --runs N] [-- --seed N]
 *
 * The longer fuzz run of every parser that reads outside input (`npm test`
 * runs a bounded one): S seconds per parser (default 60), at most N inputs
 * each. Prints inputs tried, crashes, hangs and peak memory per parser; exits
 * 1 when any parser crashed or hung.
 */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { OvsdbBackend } from '../agent/backends/ovsdb.js';
import { agentAnswerTarget, agentRpcTarget, configTargets, fileTargets, formatReport, fuzz, ovsdbTargets } from './lib/fuzz.js';
import { OvsdbServer } from '../sandbox/index.js';

const argv = yargs(hideBin(process.argv))
  .option('seconds', { type: 'number', default: 60, describe: 'seconds per parser' })
  .option('runs', { type: 'number', default: 10_000_000, describe: 'inputs per parser at most' })
  .option('seed', { type: 'number', default: Date.now() % 1_000_000, describe: 'first fast-check seed (printed, to replay a run)' })
  .strict()
  .parseSync();

async function main(): Promise<void> {
  const server = await OvsdbServer.start();
  const backend = await OvsdbBackend.connect(server.unix);
  let bad = 0;
  try {
    process.stdout.write(`fuzz: ${argv.seconds} s per parser, seed ${argv.seed}\n`);
    const targets = [...configTargets(), agentRpcTarget(backend), agentAnswerTarget(), ...(await ovsdbTargets()), ...fileTargets()];
    for (const t of targets) {
      const r = await fuzz(t, { runs: argv.runs, seconds: argv.seconds, seed: argv.seed });
      process.stdout.write(`${formatReport(r)}\n`);
      bad += r.crashes + r.hangs;
    }
  } finally {
    await backend.close();
    await server.stop();
  }
  process.exitCode = bad > 0 ? 1 : 0;
}

main().catch((err: unknown) => {
  process.stderr.write(`fuzz failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exitCode = 1;
});
