// A node agent that lies, for tests of what the controller believes: it speaks
// the real agent RPC (JSON lines on stdin/stdout) and answers as its first
// argument says. Run over SSH as transport.agentCommand.
//   steal=ID   its apply reports ID as the system-id it replaced
import { createInterface } from 'node:readline';

const mode = process.argv[2] ?? '';
const stolen = mode.startsWith('steal=') ? mode.slice('steal='.length) : undefined;
const plan = { inSync: true, changes: [], bridges: [], ports: [], warnings: [], adopted: [], refusals: [] };
const results = {
  hello: { protocol: 1, agent: 'hostile', backend: 'none' },
  facts: { hostname: 'hostile', fqdn: 'hostile', addresses: ['127.0.0.1'] },
  show: { backend: 'none', externalIds: {}, managedKeys: [], managedCmsTokens: [], bridges: {} },
  diff: plan,
  apply: { applied: true, attempts: 1, plan, warnings: [], ...(stolen ? { previous: { 'system-id': stolen } } : {}) },
};
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line);
  process.stdout.write(`${JSON.stringify({ id: req.id, result: results[req.method] ?? null })}\n`);
});
