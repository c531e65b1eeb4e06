import { EXIT, printResult } from '../../cli/index.js';
import { asList } from '../../schemas/chassis.js';
import { logFormat } from '../../common/log.js';
import { printable } from '../../common/text.js';
import { NO_CHANGES } from '../../schemas/output.js';
import { PullView, connectConfigDb } from '../config-db.js';
import { ControllerError } from '../errors.js';
import type { Fleet } from '../inventory.js';
import { Progress } from '../progress.js';
import { pullRollout } from '../pull-rollout.js';
import { formatReport } from '../rollout.js';
import { confirmOrCancel, log, southbound, stopBetweenBatches } from './common.js';

interface PulledArgs {
  batch: string; canary: number; 'batch-by'?: string | undefined; limit?: string | undefined; 'max-failures': number; pause: number;
  'verify-timeout': number; 'apply-timeout': number; json: boolean; yes: boolean;
  bindings?: string | undefined; plan?: string | undefined; 'plan-only': boolean; 'preflight-only': boolean; resume: boolean;
}

/** rollout --pull: the batches are published in the config database, where the rollout's progress lives (docs/pull.md). */
export async function rolloutPulled(fleet: Fleet, a: PulledArgs): Promise<number> {
  const unsupported = [a.bindings && '--bindings', a.plan && '--plan', a['plan-only'] && '--plan-only', a['preflight-only'] && '--preflight-only', a.resume && '--resume'].filter(Boolean);
  if (unsupported.length > 0) {
    throw new ControllerError('USAGE', `--pull does not take ${unsupported.join(', ')}: a pulled rollout moves chassis config only, and resumes by being run again`);
  }
  if (!(a['apply-timeout'] > 0)) throw new ControllerError('USAGE', `--apply-timeout ${a['apply-timeout']} must be above 0`);
  const client = await connectConfigDb(fleet.inventory, log);
  const stop = stopBetweenBatches('run it again to resume');
  let progress: Progress | undefined;
  try {
    await confirmOrCancel(a, `The rollout will publish the config of each batch in turn to ${asList(fleet.inventory.configDb ?? []).join(',')}; each node's agent applies it.`);
    const sb = await southbound(fleet, 'verify each node');
    try {
      const view = await PullView.watch(client);
      const res = await pullRollout(fleet, client, view, sb, {
        batch: a.batch, canary: a.canary, ...(a['batch-by'] ? { batchBy: a['batch-by'] } : {}), order: fleet.inventory.rollout?.order, ...(a.limit ? { limit: a.limit } : {}),
        maxFailures: a['max-failures'], pauseS: a.pause, applyTimeoutS: a['apply-timeout'], verifyTimeoutS: a['verify-timeout'],
        onFailure: fleet.inventory.rollout?.onFailure ?? 'continue',
        onPlan: (batches) => {
          if (logFormat() === 'text') progress = new Progress('rollout', batches.flat().length, log);
          if (!a.json) process.stdout.write(`${['Plan (pull mode):', ...batches.map((b, i) => `  batch ${i + 1}${i === 0 && a.canary ? ' (canary)' : ''}: ${b.join(', ')}`)].map(printable).join('\n')}\n\n`);
        },
        onEvent: (text) => (progress ? progress.say(text) : log.info({ op: 'rollout' }, text)),
        onNode: (_host, ok) => progress?.count(ok),
        stopRequested: stop.requested,
      });
      const human = `${formatReport(res.nodes, false)}\nrollout ${res.outcome}${res.reason ? `: ${res.reason}` : ''}`;
      printResult(a.json, 'rollout', { outcome: res.outcome, batches: res.batches, nodes: res.nodes, changes: NO_CHANGES, warnings: [] }, human);
      return res.outcome === 'done' ? EXIT.OK : EXIT.PARTIAL;
    } finally {
      sb.close();
    }
  } finally {
    progress?.finish();
    stop.release();
    client.close();
  }
}
