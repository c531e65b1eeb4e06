// A node agent that lies, for tests of what the controller believes: it speaks
// the real agent RPC (JSON lines on stdin/stdout) and answers as its first
// argument says. Run over SSH as transport.agentCommand.
//   steal=ID      its apply reports ID as the system-id it replaced
//   version=V     it says it is agent version V
//   protocol=N    it says it speaks protocol N
//   refuse=N      it refuses our hello, as an agent speaking protocol N does
//   loud          its words (hostname, FQDN, warnings, version) are megabytes long and carry escape sequences
import { createInterface } from 'node:readline';

const mode = process.argv[2] ?? '';
const arg = (name) => (mode.startsWith(`${name}=`) ? mode.slice(name.length + 1) : undefined);
const stolen = arg('steal');
const loud = mode === 'loud';
// A terminal escape (clear screen, then a title) inside a 3 MB word.
const shout = (what) => `${what}\u001b[2J\u001b]0;owned\u0007${'x'.repeat(3 * 1024 * 1024)}`;
const plan = { inSync: true, changes: [], bridges: [], ports: [], warnings: loud ? [shout('warning')] : [], adopted: [], refusals: [] };
const results = {
  hello: { protocol: Number(arg('protocol') ?? 1), agent: loud ? shout('v') : arg('version') ?? '0.1.0', backend: 'none' },
  facts: { hostname: loud ? shout('host') : 'hostile', fqdn: loud ? shout('fqdn') : 'hostile', addresses: ['127.0.0.1'] },
  show: { backend: 'none', externalIds: {}, managedKeys: [], managedCmsTokens: [], bridges: {} },
  diff: plan,
  apply: { applied: true, attempts: 1, plan, warnings: [], ...(stolen ? { previous: { 'system-id': stolen } } : {}) },
};
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const req = JSON.parse(line);
  if (req.method === 'hello' && arg('refuse')) {
    process.stdout.write(`${JSON.stringify({ id: req.id, error: { code: 'PROTOCOL_UNSUPPORTED', message: `protocol ${req.params.protocol} is not supported; this agent speaks ${arg('refuse')}`, data: { protocol: Number(arg('refuse')) } } })}\n`);
    return;
  }
  process.stdout.write(`${JSON.stringify({ id: req.id, result: results[req.method] ?? null })}\n`);
});
