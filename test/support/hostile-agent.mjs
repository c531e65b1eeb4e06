// A node agent that lies, for tests of what the controller believes: it speaks
// the real agent RPC (JSON lines on stdin/stdout) and answers as its first
// argument says. Run over SSH as transport.agentCommand.
//   steal=ID      its apply reports ID as the system-id it replaced
//   version=V     it says it is agent version V
//   protocol=N    it says it speaks protocol N
//   refuse=N      it refuses our hello, as an agent speaking protocol N does
import { createInterface } from 'node:readline';

const mode = process.argv[2] ?? '';
const arg = (name) => (mode.startsWith(`${name}=`) ? mode.slice(name.length + 1) : undefined);
const stolen = arg('steal');
const plan = { inSync: true, changes: [], bridges: [], ports: [], warnings: [], adopted: [], refusals: [] };
const results = {
  hello: { protocol: Number(arg('protocol') ?? 1), agent: arg('version') ?? '0.1.0', backend: 'none' },
  facts: { hostname: 'hostile', fqdn: 'hostile', addresses: ['127.0.0.1'] },
  show: { backend: 'none', externalIds: {}, managedKeys: [], managedCmsTokens: [], bridges: {} },
  diff: plan,
  apply: { applied: true, attempts: 1, plan, warnings: [], ...(stolen ? { previous: { 'system-id': stolen } } : {}) },
};
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line);
  if (req.method === 'hello' && arg('refuse')) {
    process.stdout.write(`${JSON.stringify({ id: req.id, error: { code: 'PROTOCOL', message: `protocol ${req.params.protocol} is not supported; this agent speaks ${arg('refuse')}` } })}\n`);
    return;
  }
  process.stdout.write(`${JSON.stringify({ id: req.id, result: results[req.method] ?? null })}\n`);
});
