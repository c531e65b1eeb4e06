import type net from 'node:net';
import type { Argv } from 'yargs';
import { EXIT, EXIT_STATUS, printResult, runProgram, usageLine } from '../cli/index.js';
import { countOf, formatCount } from '../schemas/output.js';
import { DEFAULT_DOCKER_SOCKET, agentBackendSchema, type AgentBackend } from '../schemas/backend.js';
import { type ChassisConfig, chassisConfigSchema } from '../schemas/chassis.js';
import { check, loadConfigFile } from '../schemas/load.js';
import { checkPrivateFile } from './files.js';
import { DEFAULT_SYSTEM_ID_CONF, apply, planFor, rollback } from './apply.js';
import { openBackend } from './backends/open.js';
import { Daemon } from './daemon.js';
import type { PullOptions } from './pull.js';
import { hostNameSchema } from '../schemas/config-db.js';
import { AgentError } from './errors.js';
import { MIDONET_HOST_ID_FILES, gatherFacts } from './facts.js';
import { createLogger } from '../common/log.js';
import { localNode } from './node.js';
import { LineSplitter } from '../common/lines.js';
import { RpcSession, serveLines } from './rpc.js';
import { type HelloResult, MAX_ANSWER_LINE_BYTES, PROTOCOL_VERSION, parseAnswer, requestLine } from '../schemas/rpc.js';
import { printable } from '../common/text.js';
import { DEFAULT_STATE_DIR, agentSocketIn, connectServing, relay } from './serving.js';
import type { Backend } from './state.js';
import { formatPlan, formatShow, planView, showView } from './view.js';

interface BackendArgs {
  db?: string | undefined;
  'ssl-key'?: string | undefined;
  'ssl-cert'?: string | undefined;
  'ssl-ca'?: string | undefined;
  docker?: string | undefined;
  'docker-socket': string;
  vsctl?: string | undefined;
}

interface StateArgs {
  'state-dir': string;
  socket?: string | undefined;
}

/** Where the node's Open vSwitch database is, and how it is reached: the commands that read or write it. */
function backendOpts<T>(y: Argv<T>) {
  return y
    .option('db', { type: 'string', describe: 'native OVSDB: unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT (default unix:/var/run/openvswitch/db.sock)' })
    .option('ssl-key', { type: 'string', describe: 'client private key for ssl:' })
    .option('ssl-cert', { type: 'string', describe: 'client certificate for ssl:' })
    .option('ssl-ca', { type: 'string', describe: 'CA certificate the server must chain to' })
    .option('docker', { type: 'string', describe: 'ovs-vsctl inside this container (default openvswitch_vswitchd) via the Docker API' })
    .option('docker-socket', { type: 'string', default: DEFAULT_DOCKER_SOCKET, describe: 'Docker API socket' })
    .option('vsctl', { type: 'string', describe: 'a local ovs-vsctl binary (default ovs-vsctl on $PATH)' })
    .conflicts('docker', ['vsctl', 'db'])
    .conflicts('vsctl', 'db');
}

const jsonOpt = <T>(y: Argv<T>) => y.option('json', { type: 'boolean', default: false, describe: 'machine-readable output on stdout (versioned; schemas/output/)' });

/** Where the agent keeps its snapshots and state, and its RPC socket. */
function stateOpts<T>(y: Argv<T>) {
  return y
    .option('state-dir', { type: 'string', default: DEFAULT_STATE_DIR, describe: 'where snapshots and the daemon state live' })
    .option('socket', { type: 'string', describe: 'the serving agent\'s RPC socket (default STATE_DIR/agent.sock), mode 0600' });
}

const systemIdConfOpt = <T>(y: Argv<T>) => y.option('system-id-conf', { type: 'string', default: DEFAULT_SYSTEM_ID_CONF, describe: 'updated on an allowed system-id change, where it exists' });
const midonetOpt = <T>(y: Argv<T>) => y.option('midonet-host-id-file', { type: 'string', array: true, describe: 'where to read a MidoNet host id (default: MidoNet\'s own files)' });
/** Pull mode's options: where the config database is, who this node is there, and the TLS files for ssl: members. */
const pullOpts = <T>(y: Argv<T>) => y
  .option('pull', { type: 'string', describe: 'take the desired config from the config database at these endpoints (tcp:, ssl:, unix:; comma-separated members or relays)' })
  .option('host', { type: 'string', describe: 'with --pull: this node\'s name in the inventory (the only row it takes)' })
  .option('pull-ssl-key', { type: 'string', describe: 'with --pull: client private key for ssl: members' })
  .option('pull-ssl-cert', { type: 'string', describe: 'with --pull: client certificate for ssl: members' })
  .option('pull-ssl-ca', { type: 'string', describe: 'with --pull: CA certificate the members must chain to' });

interface PullArgs { pull: string; host: string; 'pull-ssl-key'?: string | undefined; 'pull-ssl-cert'?: string | undefined; 'pull-ssl-ca'?: string | undefined }

function pullFrom(a: PullArgs): PullOptions {
  const tlsGiven = [a['pull-ssl-key'], a['pull-ssl-cert'], a['pull-ssl-ca']];
  const ssl = a.pull.split(',').some((e) => e.trim().startsWith('ssl:'));
  if (ssl && tlsGiven.some((f) => !f)) throw new AgentError('USAGE', `--pull ${a.pull} names ssl: members: give --pull-ssl-key, --pull-ssl-cert and --pull-ssl-ca`);
  const [key, cert, ca] = tlsGiven as string[];
  return { endpoints: a.pull, host: check(hostNameSchema, a.host, '--host'), ...(key && cert && ca ? { tls: { key, cert, ca } } : {}) };
}

const configOpt = <T>(y: Argv<T>, describe = 'chassis config file (YAML or JSON), - for stdin') => y.option('config', { type: 'string', demandOption: true, describe });
const allowIdOpt = <T>(y: Argv<T>) => y.option('allow-system-id-change', { type: 'boolean', default: false, describe: 'allow a new system-id (a new chassis; the old one is stranded)' });

/** A subcommand: its examples, the Exit status paragraph, and a usage line naming its required options. */
function described<T>(name: keyof typeof DESCRIPTIONS, examples: [string, string][], built: Argv<T>): Argv<T> {
  for (const [cmd, what] of examples) built.example(cmd, what);
  return built.epilog(EXIT_STATUS).usage(`${usageLine(built, name)}\n\n${DESCRIPTIONS[name]}`);
}

export function backendFrom(a: BackendArgs): AgentBackend {
  const spec =
    a.docker !== undefined
      ? { backend: 'docker', container: a.docker || undefined, dockerSocket: a['docker-socket'] }
      : a.vsctl !== undefined
        ? { backend: 'vsctl', path: a.vsctl || undefined }
        : { backend: 'ovsdb', db: a.db, sslKey: a['ssl-key'], sslCert: a['ssl-cert'], sslCa: a['ssl-ca'] };
  const clean = Object.fromEntries(Object.entries(spec).filter(([, v]) => v !== undefined));
  return check(agentBackendSchema, clean, 'the backend flags');
}

async function withOpened<T>(a: BackendArgs, fn: (b: Backend) => Promise<T>): Promise<T> {
  const backend = await openBackend(backendFrom(a));
  try {
    return await fn(backend);
  } finally {
    await backend.close();
  }
}

/** Says hello on a connected socket and resolves with the agent's answer, checked against the protocol; 5 s at most. */
function helloOf(sock: net.Socket, where: string): Promise<HelloResult> {
  return new Promise((resolve, reject) => {
    const splitter = new LineSplitter(MAX_ANSWER_LINE_BYTES);
    const timer = setTimeout(() => reject(new AgentError('UNREACHABLE', `the agent on ${where} did not answer within 5 s`)), 5000);
    const done = (fn: () => void) => {
      clearTimeout(timer);
      fn();
    };
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => {
      const [line] = splitter.push(chunk).lines;
      if (line === undefined) return;
      const answer = parseAnswer(line, 1, 'hello');
      done(() => {
        if (answer.ok) resolve(answer.result);
        else if ('error' in answer) reject(new AgentError(answer.error.code === 'PROTOCOL_UNSUPPORTED' ? 'PROTOCOL_UNSUPPORTED' : 'UNREACHABLE', `the agent on ${where}: ${printable(answer.error.message).slice(0, 400)}`));
        else reject(new AgentError('PROTOCOL', `the agent on ${where} answered hello, but ${answer.problem}`));
      });
    });
    sock.once('error', (err) => done(() => reject(new AgentError('UNREACHABLE', `the agent on ${where}: ${err.message}`))));
    sock.once('close', () => done(() => reject(new AgentError('UNREACHABLE', `the agent on ${where} closed the connection`))));
    sock.write(requestLine(1, 'hello', { protocol: PROTOCOL_VERSION, client: 'health' }));
  });
}

/** A config this agent will write to the node: it must be private (stdin is the caller's own). */
function appliedConfig(path: string): ChassisConfig {
  if (path !== '-') checkPrivateFile(path, 'config');
  return loadConfigFile(chassisConfigSchema, path);
}

const socketOf = (a: StateArgs) => a.socket ?? agentSocketIn(a['state-dir']);

/**
 * A serving agent re-applies its own config within a second, so a write
 * made beside it would be undone: writes go through it, or not at all.
 */
async function refuseBesideServing(a: StateArgs, what: string): Promise<void> {
  const sock = await connectServing(socketOf(a));
  if (!sock) return;
  sock.destroy();
  throw new AgentError('REFUSED', `an agent serves this node on ${socketOf(a)} and would undo this ${what} within a second; send it through that agent (the controller does), or stop it first`);
}

/** What each subcommand does: its line in the list of commands, and the head of its own help. */
const DESCRIPTIONS = {
  show: 'show the node\'s chassis configuration',
  diff: 'show what apply would change',
  apply: 'make the node match the config',
  rollback: 'restore the values saved before the last apply',
  serve: 'keep the config applied and answer RPC on a unix socket',
  health: 'exit 0 when a serving agent answers on its socket (a container or unit healthcheck)',
  rpc: 'answer the agent RPC as JSON lines on stdin/stdout (for the controller over SSH)',
} as const;
const COMMANDS = Object.keys(DESCRIPTIONS);

/** Runs the agent CLI; resolves with the exit code. */
export function main(argv: string[]): Promise<number> {
  let code: number = EXIT.OK;
  return runProgram('ovn-chassis-agent', stdinDash(argv), COMMANDS, (y) => {
    const log = createLogger('ovn-chassis-agent');
    return y
      .command('show', DESCRIPTIONS.show, (y) => described('show', [['$0 show', 'the node\'s chassis keys, which of them are managed, its bridges'], ['$0 show --facts --docker', 'the same through the openvswitch_vswitchd container, with the node\'s facts']],
        midonetOpt(jsonOpt(backendOpts(y))).option('facts', { type: 'boolean', default: false, describe: 'also report the node\'s facts' })), async (a) => {
        await withOpened(a, async (b) => {
          const show = showView(await b.read(), b.description);
          const facts = a.facts ? await gatherFacts(b, localNode, a['midonet-host-id-file'] ?? MIDONET_HOST_ID_FILES) : undefined;
          const factText = facts ? `\nfacts:\n${Object.entries(facts).map(([k, v]) => `  ${k}: ${Array.isArray(v) ? v.join(', ') : v}`).join('\n')}` : '';
          printResult(a.json, 'show', facts ? { ...show, facts } : show, formatShow(show) + factText);
        });
      })
      .command('diff', DESCRIPTIONS.diff, (y) => described('diff', [['$0 diff --config chassis.yaml', 'what apply would change (exit 2 when something would)']], allowIdOpt(configOpt(jsonOpt(backendOpts(y))))), async (a) => {
        const config = loadConfigFile(chassisConfigSchema, a.config);
        await withOpened(a, async (b) => {
          const view = planView((await planFor(b, config, { allowSystemIdChange: a['allow-system-id-change'] })).plan);
          printResult(a.json, 'diff', { plan: view, changes: countOf(view) }, formatPlan(view));
          code = view.inSync ? EXIT.OK : EXIT.CHANGES;
        });
      })
      .command('apply', DESCRIPTIONS.apply, (y) => described('apply', [['$0 apply --config /etc/ovn-chassis/chassis.yaml', 'write the chassis keys (the config must be private: mode 0600 or tighter)']],
        systemIdConfOpt(stateOpts(allowIdOpt(configOpt(jsonOpt(backendOpts(y))))))), async (a) => {
        const config = appliedConfig(a.config);
        await refuseBesideServing(a, 'apply');
        await withOpened(a, async (b) => {
          const res = await apply(b, config, { stateDir: a['state-dir'], allowSystemIdChange: a['allow-system-id-change'], systemIdConfPath: a['system-id-conf'], onConflict: (n) => log.info({ attempt: n }, 'concurrent write detected; re-reading') });
          const view = planView(res.plan);
          const warned = res.warnings.map((w) => `\n! warning: ${w}`).join('');
          const changes = countOf(res.applied ? view : undefined);
          printResult(a.json, 'apply', { applied: res.applied, attempts: res.attempts, plan: view, changes, snapshot: res.snapshot, warnings: res.warnings }, `${res.applied ? `applied ${formatCount(changes)}:\n${formatPlan(view, '  ')}` : 'no changes'}${warned}`);
        });
      })
      .command('rollback', DESCRIPTIONS.rollback, (y) => described('rollback', [['$0 rollback', 'put back the keys the last apply replaced']], stateOpts(jsonOpt(backendOpts(y)))), async (a) => {
        await refuseBesideServing(a, 'rollback');
        await withOpened(a, async (b) => {
          const res = await rollback(b, { stateDir: a['state-dir'] });
          const lines = Object.entries(res.restored).map(([k, v]) => (v === null ? `- ${k}` : `= ${k} = ${v}`));
          const skipped = res.passedOver ? `passed over ${res.passedOver.length} snapshot(s) the node already matched (an apply killed before its write): ${res.passedOver.join(', ')}\n` : '';
          printResult(a.json, 'rollback', res, `${skipped}restored from ${res.snapshot}:\n  ${lines.join('\n  ')}${res.warnings.map((w) => `\n! warning: ${w}`).join('')}`);
        });
      })
      .command('serve', DESCRIPTIONS.serve, (y) => described('serve', [
        ['$0 serve --config /etc/ovn-chassis/chassis.yaml', 'the daemon the agent image and unit run'],
        ['$0 serve --pull tcp:10.0.0.1:6645,tcp:10.0.0.2:6645,tcp:10.0.0.3:6645 --host cmp-1', 'pull mode: keep this host\'s row of the config database applied'],
      ], pullOpts(midonetOpt(systemIdConfOpt(stateOpts(backendOpts(y)))))
        .option('config', { type: 'string', describe: 'chassis config file (YAML or JSON), kept applied (or --pull)' })), async (a) => {
        if ((a.config === undefined) === (a.pull === undefined)) throw new AgentError('USAGE', 'give either --config FILE or --pull ENDPOINTS --host NAME');
        if (a.pull !== undefined && !a.host) throw new AgentError('USAGE', '--pull needs --host: this node\'s name in the inventory, whose row it takes');
        const daemon = new Daemon({
          ...(a.config !== undefined ? { config: appliedConfig(a.config) } : {}),
          ...(a.pull !== undefined ? { pull: pullFrom(a as PullArgs) } : {}),
          backend: backendFrom(a),
          stateDir: a['state-dir'],
          socketPath: socketOf(a),
          systemIdConfPath: a['system-id-conf'],
          ...(a['midonet-host-id-file'] ? { midonetFiles: a['midonet-host-id-file'] } : {}),
          log,
        });
        await daemon.start();
        await new Promise<void>((resolve) => {
          const stop = () => void daemon.stop().then(resolve);
          process.once('SIGTERM', stop);
          process.once('SIGINT', stop);
        });
      })
      .command('health', DESCRIPTIONS.health, (y) => described('health', [['$0 health --state-dir /var/lib/ovn-chassis', 'the healthcheck of the agent image and unit']], stateOpts(jsonOpt(y))), async (a) => {
        const sock = await connectServing(socketOf(a));
        if (!sock) throw new AgentError('UNREACHABLE', `no agent serves on ${socketOf(a)}`);
        try {
          const hello = await helloOf(sock, socketOf(a));
          printResult(a.json, 'health', hello, `serving: agent ${printable(hello.agent)}, protocol ${hello.protocol}, ${printable(hello.backend)}`);
        } finally {
          sock.destroy();
        }
      })
      .command('rpc', DESCRIPTIONS.rpc, (y) => described('rpc', [['ssh node ovn-chassis-agent rpc', 'what the controller runs on a node it reaches over SSH']], midonetOpt(systemIdConfOpt(stateOpts(backendOpts(y))))), async (a) => {
        const serving = await connectServing(socketOf(a));
        if (serving) {
          // The serving agent answers, so the config it keeps applied follows what the controller applies.
          log.info({ socket: socketOf(a) }, 'relaying to the serving agent');
          await relay(process.stdin, process.stdout, serving);
          return;
        }
        await withOpened(a, async (b) => {
          const session = new RpcSession({ backend: b, stateDir: a['state-dir'], systemIdConfPath: a['system-id-conf'], log, ...(a['midonet-host-id-file'] ? { midonetFiles: a['midonet-host-id-file'] } : {}) });
          await serveLines(process.stdin, process.stdout, session);
        });
      });
  }, () => code);
}

/** yargs reads a lone "-" as a positional; "--config -" means standard input, so keep them together. */
function stdinDash(argv: string[]): string[] {
  const out: string[] = [];
  for (const a of argv) {
    const prev = out[out.length - 1];
    if (a === '-' && prev?.startsWith('--') && !prev.includes('=')) out[out.length - 1] = `${prev}=-`;
    else out.push(a);
  }
  return out;
}
