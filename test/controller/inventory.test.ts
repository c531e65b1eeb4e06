import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../schemas/errors.js';
import { checkInventory } from '../../controller/inventory.js';
import { limitHosts } from '../../controller/limit.js';
import { validateFleet } from '../../controller/validate.js';
import { formatHooks } from '../../controller/rollout.js';
import { uuidv5 } from '../../controller/uuid5.js';
import { checkKnownHosts, fingerprint } from '../../controller/transport/known-hosts.js';
import { shellQuote } from '../../controller/transport/ssh.js';

const inv = (over: Record<string, unknown> = {}) => ({
  ovn: { southbound: ['tcp:172.30.0.101:6642'], northbound: ['tcp:172.30.0.101:6641'] },
  defaults: {
    transport: { kind: 'ssh', user: 'root', privateKey: '~/.ssh/id_ed25519', knownHosts: '~/.ssh/known_hosts' },
    agent: { backend: 'docker', container: 'openvswitch_vswitchd' },
    encap: { type: 'geneve' },
  },
  groups: { gateway: { gateway: true, bridgeMappings: { physnet1: 'br-ex' } }, compute: {}, rack2: { vars: { rack: 'r2' } } },
  hosts: {
    'ctl-1': { address: '172.30.0.101', groups: ['gateway'] },
    'cmp-1': { address: '172.30.0.111', groups: ['compute'] },
    'cmp-2': { address: '172.30.0.112', groups: ['compute', 'rack2'], agent: { backend: 'ovsdb', db: 'tcp:127.0.0.1:6640' } },
  },
  ...over,
});

function refused(data: unknown): string[] {
  try {
    checkInventory(data, 'inv.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues;
  }
  throw new Error('expected the inventory to be refused');
}

describe('chassis MACs made from a seed', () => {
  const seeded = (over: Record<string, unknown> = {}) => checkInventory(inv({ groups: { ...inv().groups, compute: { chassisMacSeed: 'cloud-1 secret', bridgeMappings: ['physnet1:br-ex', 'physnet2:br-vlan'] } }, ...over }), 'inv.yaml');

  it('gives each host of the group one locally administered MAC per physnet, the same on every run', () => {
    const a = seeded().hosts.find((h) => h.name === 'cmp-1')?.chassis.chassisMacMappings;
    expect(Object.keys(a ?? {})).toEqual(['physnet1', 'physnet2']);
    for (const m of Object.values(a ?? {})) expect(m).toMatch(/^0e(:[0-9a-f]{2}){5}$/);
    expect(seeded().hosts.find((h) => h.name === 'cmp-1')?.chassis.chassisMacMappings).toEqual(a);
    expect(seeded().hosts.find((h) => h.name === 'cmp-2')?.chassis.chassisMacMappings).not.toEqual(a);
    // Gateways are left without: MACs there made traffic flood (kolla-ansible reverted them, LP#1995078).
    expect(seeded().hosts.find((h) => h.name === 'ctl-1')?.chassis.chassisMacMappings).toBeUndefined();
  });

  it('leaves MACs a host is given as they are', () => {
    const given = { 'cmp-1': { ...inv().hosts['cmp-1'], chassisMacMappings: { physnet1: '52:54:00:00:00:01' } } };
    expect(seeded({ hosts: { ...inv().hosts, ...given } }).hosts.find((h) => h.name === 'cmp-1')?.chassis.chassisMacMappings).toEqual({ physnet1: '52:54:00:00:00:01' });
  });

  it('validate refuses one MAC on two hosts of a physnet', () => {
    const mac = { chassisMacMappings: { physnet1: '52:54:00:00:00:01' } };
    const fleet = checkInventory(inv({ hosts: { ...inv().hosts, 'cmp-1': { ...inv().hosts['cmp-1'], ...mac }, 'cmp-2': { ...inv().hosts['cmp-2'], ...mac } } }), 'inv.yaml');
    expect(validateFleet(fleet).find((f) => f.check === 'duplicate-chassis-mac')).toMatchObject({ level: 'error', hosts: ['cmp-1', 'cmp-2'] });
  });
});

describe('an encap IP found on the node', () => {
  it('needs the host\'s address given, and is not checked for duplicates it cannot know', () => {
    expect(refused(inv({ hosts: { 'cmp-1': { encap: { ip: { interface: 'bond0' } } } } }))).toContain('hosts.cmp-1: needs an address (or an encap.ip that names one)');
    const fleet = checkInventory(inv({ hosts: { 'cmp-1': { address: '172.30.0.111', encap: { ip: { cidr: '10.0.0.0/24' } } }, 'cmp-2': { address: '172.30.0.112', encap: { ip: { cidr: '10.0.0.0/24' } } } } }), 'inv.yaml');
    expect(validateFleet(fleet).filter((f) => f.check === 'duplicate-encap-ip')).toEqual([]);
  });

  it('refuses what is not an interface name or a network, naming the field', () => {
    expect(refused(inv({ hosts: { 'cmp-1': { address: '172.30.0.111', encap: { ip: { cidr: '10.0.0.0/33' } } } } })).join('\n')).toMatch(/hosts\.cmp-1\.encap\.ip/);
    expect(refused(inv({ hosts: { 'cmp-1': { address: '172.30.0.111', encap: { ip: { interface: 'a-very-long-interface-name' } } } } })).join('\n')).toMatch(/hosts\.cmp-1\.encap\.ip/);
  });
});

describe('inventory resolution (DESIGN.md example)', () => {
  const fleet = checkInventory(inv(), 'inv.yaml');
  const host = (n: string) => fleet.hosts.find((h) => h.name === n);

  it('layers defaults, then groups in order, then the host', () => {
    expect(host('ctl-1')?.chassis).toMatchObject({ gateway: true, bridgeMappings: { physnet1: 'br-ex' }, encap: { type: 'geneve', ip: '172.30.0.101' } });
    expect(host('cmp-1')?.chassis.gateway).toBeUndefined();
    expect(host('cmp-2')?.vars).toEqual({ rack: 'r2' });
  });

  it('uses the Southbound list as ovn-remote, the address as encap IP and the name as hostname', () => {
    expect(host('cmp-1')?.chassis).toMatchObject({ ovnRemote: ['tcp:172.30.0.101:6642'], hostname: 'cmp-1', encap: { ip: '172.30.0.111' } });
  });

  it('gives a stable UUIDv5 system-id, the same on every load', () => {
    const again = checkInventory(inv(), 'inv.yaml');
    expect(host('cmp-1')?.chassis.systemId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(again.hosts.map((h) => h.chassis.systemId)).toEqual(fleet.hosts.map((h) => h.chassis.systemId));
    const other = checkInventory(inv({ ovn: { southbound: 'tcp:1.2.3.4:6642', systemIdNamespace: '11111111-2222-3333-4444-555555555555' } }), 'x');
    expect(other.hosts[0]?.chassis.systemId).not.toBe(fleet.hosts[0]?.chassis.systemId);
  });

  it('chooses the agent backend whole: a host naming another backend does not inherit the container', () => {
    expect(host('cmp-2')?.agent).toEqual({ backend: 'ovsdb', db: 'tcp:127.0.0.1:6640' });
    expect(host('cmp-1')?.agent).toEqual({ backend: 'docker', container: 'openvswitch_vswitchd', dockerSocket: '/var/run/docker.sock' });
  });

  it('UUIDv5 matches the RFC 4122 test vector', () => {
    expect(uuidv5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });
});

describe('inventory errors name the host and the field', () => {
  it('never prints a secret: a passphrase of the wrong type is named, its value is not', () => {
    const issues = refused(inv({ hosts: { 'cmp-7': { address: '172.30.0.117', transport: { kind: 'ssh', passphrase: 123456789 } } } })).join('\n');
    expect(issues).toContain('hosts.cmp-7.transport.passphrase: the value (a secret, not shown) is not a string');
    expect(issues).not.toContain('123456789');
  });

  it('shows no terminal control sequence from the input in its messages', () => {
    const issues = refused(inv({ hosts: { 'cmp-7': { address: '172.30.0.117', systemId: 'x\u001b[2J\u009b31m' } } })).join('\n');
    expect(issues).toMatch(/hosts\.cmp-7\.systemId: .* must be printable ASCII/);
    expect(issues).not.toMatch(/[\u001b\u009b]/);
  });

  it.each([
    [{ hosts: { 'cmp-7': { address: '172.30.0.117', encap: { ip: '10.0.0.300' } } } }, 'hosts.cmp-7.encap.ip: "10.0.0.300" is not an IPv4 or IPv6 address'],
    [{ hosts: { 'cmp-7': { address: '172.30.0.117', groups: ['nope'] } } }, 'hosts.cmp-7.groups.0: "nope" is not a group defined under groups'],
    [{ hosts: { 'cmp-7': { address: '172.30.0.117', bridgeMappings: { physnet1: 'br-way-too-long-x' } } } }, 'hosts.cmp-7.bridgeMappings.physnet1: "br-way-too-long-x" is longer than 15 bytes (the Linux limit for a bridge name)'],
    [{ hosts: { 'cmp-7': { address: '172.30.0.117', transport: { kind: 'telnet' } } } }, 'hosts.cmp-7.transport.kind: "telnet" is not one of "ssh", "local"'],
    [{ hosts: { 'cmp-7': { adress: '172.30.0.117' } } }, 'hosts.cmp-7.adress: unknown field'],
    [{ hosts: { 'cmp-7': {} } }, 'hosts.cmp-7.encap.ip: required'],
    [{ hosts: { 'cmp-7': { address: '172.30.0.117', groups: ['constructor'] } } }, 'hosts.cmp-7.groups.0: "constructor" is not a group defined under groups'],
    [{ hosts: { 'cmp-7': { address: '172.30.0.117', groups: ['toString'] } } }, 'hosts.cmp-7.groups.0: "toString" is not a group defined under groups'],
    [{ hosts: { 'cmp-7': { address: '172.30.0.117', agent: { backend: 'docker', container: '--privileged' } } } }, 'hosts.cmp-7.agent.container: "--privileged" is not a Docker container name'],
    [{ hosts: { 'cmp-7': { address: '172.30.0.117', agent: { backend: 'vsctl', path: '--help' } } } }, 'hosts.cmp-7.agent.path: "--help" must not start with "-"'],
    [{ hosts: { 'cmp-7': { address: '172.30.0.117', hostname: 'cmp\u001b]0;pwned\u0007' } } }, 'hosts.cmp-7.hostname: "cmp\\u001b]0;pwned\\u0007" is not a host name'],
  ])('%j', (over, message) => {
    expect(refused(inv(over)).join('\n')).toContain(message);
  });
});

describe('--limit as Ansible does it', () => {
  const fleet = checkInventory(inv(), 'inv.yaml');
  const names = (p: string) => limitHosts(fleet.hosts, p).map((h) => h.name);

  it('selects by name, group and glob; excludes with ! and intersects with &', () => {
    expect(names('ctl-1')).toEqual(['ctl-1']);
    expect(names('compute')).toEqual(['cmp-1', 'cmp-2']);
    expect(names('cmp-*')).toEqual(['cmp-1', 'cmp-2']);
    expect(names('all*,!gateway')).toEqual([]);
    expect(names('*,!gateway')).toEqual(['cmp-1', 'cmp-2']);
    expect(names('compute:&rack2')).toEqual(['cmp-2']);
    expect(names('ctl-1,cmp-1')).toEqual(['ctl-1', 'cmp-1']);
  });
});

describe('validate: fleet-wide checks', () => {
  const checks = (over: Record<string, unknown>) => validateFleet(checkInventory(inv(over), 'inv.yaml')).map((f) => `${f.level} ${f.check} ${f.hosts.join(',')}`);

  it('passes the DESIGN.md example', () => {
    expect(checks({})).toEqual([]);
  });

  it('finds duplicate system-ids, encap IPs and hostnames', () => {
    expect(checks({ hosts: { a: { address: '10.0.0.1', systemId: 'same' }, b: { address: '10.0.0.1', systemId: 'same', hostname: 'a' } } })).toEqual([
      'error duplicate-system-id a,b', 'error duplicate-encap-ip a,b', 'error duplicate-hostname a,b',
    ]);
  });

  it('finds gateways without mappings, physnets missing on some gateways, mixed encap types and ignored keys', () => {
    expect(checks({
      hosts: {
        g1: { address: '10.0.0.1', groups: ['gateway'], bridgeMappings: { physnet2: 'br-vlan' } },
        g2: { address: '10.0.0.2', gateway: true, encap: { type: 'vxlan' } },
        c1: { address: '10.0.0.3', openflowProbeIntervalS: 60 },
      },
    })).toEqual([
      'error gateway-without-mappings g2',
      'warning physnet-not-on-all-gateways g2',
      'warning physnet-not-on-all-gateways g2',
      'warning mixed-encap-types g1,c1,g2',
      'warning ignored-key c1',
    ]);
  });
});

describe('ssh helpers', () => {
  const blob = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 7)]);
  const other = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), Buffer.from([0, 0, 0, 32]), Buffer.alloc(32, 9)]);

  it('checks known_hosts: match, changed, unknown, hashed names and non-22 ports', () => {
    const text = `# comment\n[127.0.0.1]:2222 ssh-ed25519 ${blob.toString('base64')}\n10.0.0.5,node5 ssh-ed25519 ${blob.toString('base64')}\n`;
    expect(checkKnownHosts(text, '[127.0.0.1]:2222', blob)).toBe('match');
    expect(checkKnownHosts(text, '[127.0.0.1]:2222', other)).toBe('changed');
    expect(checkKnownHosts(text, '127.0.0.1', blob)).toBe('unknown');
    expect(checkKnownHosts(text, 'node5', blob)).toBe('match');
    // A hashed entry as ssh-keygen -H writes it, for "node9".
    const salt = Buffer.alloc(20, 1);
    const { createHmac } = require('node:crypto') as typeof import('node:crypto');
    const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('node9').digest('base64')}`;
    expect(checkKnownHosts(`${hashed} ssh-ed25519 ${blob.toString('base64')}`, 'node9', blob)).toBe('match');
    expect(checkKnownHosts(`@revoked * ssh-ed25519 ${blob.toString('base64')}`, 'node9', blob)).toBe('revoked');
    expect(fingerprint(blob)).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it('quotes the agent command so the remote shell runs exactly the argument vector', () => {
    expect(shellQuote(['ovn-chassis-agent', 'rpc', '--db', 'unix:/run/openvswitch/db.sock'])).toBe('ovn-chassis-agent rpc --db unix:/run/openvswitch/db.sock');
    expect(shellQuote(['echo', "it's; rm -rf /", '$(x)'])).toBe(`echo 'it'\\''s; rm -rf /' '$(x)'`);
  });
});

describe('hooks from defaults, groups and the host', () => {
  it('add up phase by phase: the defaults\' first, then each group\'s in order, then the host\'s own; none replaces another', () => {
    const cmd = (name: string) => ({ action: 'command', argv: ['echo', name] });
    const fleet = checkInventory({
      ovn: { southbound: ['tcp:192.0.2.1:6642'] },
      defaults: { hooks: { before: [cmd('defaults')] } },
      groups: { a: { hooks: { before: [cmd('a')], after: [cmd('a-after')] } }, b: { hooks: { before: [cmd('b')], rollback: [cmd('b-rollback')] } } },
      hosts: { h1: { address: '192.0.2.11', groups: ['a', 'b'], hooks: { before: [cmd('host')] } }, h2: { address: '192.0.2.12' } },
    }, 'hooks');
    const [h1, h2] = fleet.hosts;
    expect(h1?.hooks.before?.map((h) => (h.action === 'command' ? h.argv[1] : ''))).toEqual(['defaults', 'a', 'b', 'host']);
    expect(h1?.hooks.after?.map((h) => (h.action === 'command' ? h.argv[1] : ''))).toEqual(['a-after']);
    expect(h1?.hooks.rollback?.map((h) => (h.action === 'command' ? h.argv[1] : ''))).toEqual(['b-rollback']);
    expect(h2?.hooks).toEqual({ before: [{ ...cmd('defaults'), timeoutS: 60 }] });
    expect(formatHooks(new Map(fleet.hosts.map((h) => [h.name, h.hooks])))).toEqual([
      '  h1:',
      '    before: command ["echo","defaults"], command ["echo","a"], command ["echo","b"], command ["echo","host"]',
      '    after: command ["echo","a-after"]',
      '    rollback: command ["echo","b-rollback"]',
      '  h2:',
      '    before: command ["echo","defaults"]',
    ]);
  });
});

describe('a bad address', () => {
  it('is named as the address, not as the encap IP it stands in for', () => {
    expect(refused(inv({ hosts: { 'cmp-1': { address: '10.0.0.300' } } }))).toEqual(['hosts.cmp-1.address: "10.0.0.300" is not an IPv4 or IPv6 address (with no encap.ip, the address is the encap IP)']);
  });

  it('is no encap problem when encap.ip is given', () => {
    expect(checkInventory(inv({ hosts: { 'cmp-1': { address: 'cmp-1.example.net', encap: { ip: '10.0.0.3' } } } }), 'inv.yaml').hosts[0]?.chassis.encap.ip).toBe('10.0.0.3');
  });
});


describe('agent.pull: an installed agent that pulls its config', () => {
  const pulling = (over: Record<string, unknown> = {}, configDb: unknown = ['tcp:10.0.0.1:6645', 'tcp:10.0.0.2:6645']) => {
    const i = inv(over) as Record<string, any>;
    i.defaults.agent = { backend: 'ovsdb', pull: true };
    return configDb ? { ...i, configDb } : i;
  };

  it('runs serve --pull with the inventory\'s configDb and its own host name, and gets no config file', async () => {
    const { serveArgv } = await import('../../controller/agent-unit.js');
    const host = checkInventory(pulling(), 'inv.yaml').hosts.find((h) => h.name === 'cmp-1')!;
    expect(host.pull).toEqual({ endpoints: ['tcp:10.0.0.1:6645', 'tcp:10.0.0.2:6645'] });
    expect(serveArgv(host, '/var/lib/ovn-chassis')).toEqual(['serve', '--pull', 'tcp:10.0.0.1:6645,tcp:10.0.0.2:6645', '--host', 'cmp-1', '--db', 'unix:/var/run/openvswitch/db.sock', '--state-dir', '/var/lib/ovn-chassis']);
    const pushed = checkInventory(inv(), 'inv.yaml').hosts.find((h) => h.name === 'cmp-2')!;
    expect(serveArgv(pushed, '/s')).toEqual(['serve', '--config', '/s/chassis.json', '--db', 'tcp:127.0.0.1:6640', '--state-dir', '/s']);
  });

  it('with ssl: members, takes the node\'s own PEM files (those ovn-controller uses), and refuses a host without them', async () => {
    const { serveArgv } = await import('../../controller/agent-unit.js');
    const tls = { privateKey: '/etc/ovn/key.pem', certificate: '/etc/ovn/cert.pem', caCert: '/etc/ovn/ca.pem' };
    const ssl = ['ssl:10.0.0.1:6645'];
    const withTls = { ovn: { southbound: ['ssl:172.30.0.101:6642'], tls: { privateKey: '/c/key', certificate: '/c/cert', caCert: '/c/ca' } } };
    const fleet = checkInventory({ ...pulling(withTls, ssl), defaults: { ...pulling().defaults, ssl: tls } }, 'inv.yaml');
    expect(serveArgv(fleet.hosts[0]!, '/s')).toEqual(expect.arrayContaining(['--pull-ssl-key', '/etc/ovn/key.pem', '--pull-ssl-cert', '/etc/ovn/cert.pem', '--pull-ssl-ca', '/etc/ovn/ca.pem']));
    expect(refused({ ...pulling(withTls, ssl), defaults: { ...pulling().defaults, ssl: { fromCommandLine: true } } }).join('\n')).toMatch(/agent\.pull: configDb names ssl: members, so the agent needs the node's PEM files/);
  });

  it('refuses agent.pull in an inventory with no configDb', () => {
    expect(refused(pulling({}, null)).join('\n')).toMatch(/hosts\.cmp-1\.agent\.pull: the inventory names no configDb/);
  });
});
