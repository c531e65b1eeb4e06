import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { chassisConfigSchema } from '../../schemas/chassis.js';
import { ConfigError } from '../../schemas/errors.js';
import { check, loadConfigFile, parseYaml } from '../../schemas/load.js';
import { tempDir } from '../../sandbox/index.js';

const good = {
  systemId: '4c1b6a9e-1c39-4b8f-9d0a-2f6f1b1e2a10',
  ovnRemote: ['tcp:172.30.0.101:6642'],
  encap: { ip: '172.30.0.101' },
};

function issues(data: unknown): string[] {
  try {
    check(chassisConfigSchema, data, 'config');
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).issues.flatMap((i) => i.split('\n  '));
  }
  throw new Error('expected the config to be refused');
}

describe('typed fields of the key table', () => {
  it('refuses a default encap IP that is not one of the encap IPs, naming the field and the value', () => {
    expect(issues({ ...good, encap: { ip: ['172.30.0.101', '172.30.0.102'], ipDefault: '172.30.0.9' } }).join('\n')).toMatch(/encap\.ipDefault.*172\.30\.0\.9.*not one of the encap IPs/s);
    expect(check(chassisConfigSchema, { ...good, encap: { ip: ['172.30.0.101', '172.30.0.102'], ipDefault: '172.30.0.102' } }, 'c').encap.ipDefault).toBe('172.30.0.102');
  });

  it('refuses a cms token in cmsOptions that a typed field says, so one fact has one place', () => {
    expect(issues({ ...good, cmsOptions: ['enable-chassis-as-gw'] }).join('\n')).toMatch(/cmsOptions\.0.*set through its own field/s);
    expect(issues({ ...good, cmsOptions: ['resource_provider_bandwidths=br-ex:1:1'] }).join('\n')).toMatch(/set through its own field/);
  });

  it('checks each typed value: ToS range or inherit, datapath type, percentages', () => {
    expect(issues({ ...good, encap: { ip: '172.30.0.101', tos: 256 } }).join('\n')).toMatch(/encap\.tos/);
    expect(check(chassisConfigSchema, { ...good, encap: { ip: '172.30.0.101', tos: 'inherit' } }, 'c').encap.tos).toBe('inherit');
    expect(issues({ ...good, integrationBridgeDatapathType: 'dpdk' }).join('\n')).toMatch(/integrationBridgeDatapathType/);
    expect(issues({ ...good, lflowCache: { trimWmarkPerc: 101 } }).join('\n')).toMatch(/lflowCache\.trimWmarkPerc/);
    expect(issues({ ...good, resourceProvider: { hypervisors: 'a,b' } }).join('\n')).toMatch(/resourceProvider\.hypervisors.*is not a single token \(no spaces or commas\)/s);
  });
});

describe('chassis config validation', () => {
  // N9: values a node cannot use, or that carry a terminal escape, are refused where the config is read.
  it('refuses an interface or bridge name with a control character, a tunnel IP no one host has, and a CPU mask naming no CPU', () => {
    expect(issues({ ...good, encap: { ip: { interface: 'eth\u001b[2J' } } }).join('\n')).toMatch(/encap\.ip.*not an interface name/s);
    expect(issues({ ...good, bridges: [{ name: 'br-\u001bx' }] }).join('\n')).toMatch(/bridges\.0\.name.*not a bridge name/s);
    expect(issues({ ...good, bridges: [{ name: 'br-x', uplink: 'u\u0007' }] }).join('\n')).toMatch(/bridges\.0\.uplink/);
    for (const [ip, why] of [['0.0.0.0', /unspecified/], ['255.255.255.255', /broadcast/], ['239.1.1.1', /multicast/], ['250.0.0.1', /reserved/], ['::', /unspecified/], ['ff02::1', /multicast/]] as const) {
      expect(issues({ ...good, encap: { ip } }).join('\n'), ip).toMatch(why);
      expect(issues({ ...good, encap: { ip: ['172.30.0.101', ip] } }).join('\n'), ip).toMatch(why);
    }
    expect(check(chassisConfigSchema, { ...good, encap: { ip: ['127.0.0.2', 'fd00::1'] } }, 'c').encap.ip).toEqual(['127.0.0.2', 'fd00::1']);
    for (const mask of ['0', '0x0', '0x000']) expect(issues({ ...good, openvswitch: { pmdCpuMask: mask } }).join('\n'), mask).toMatch(/names no CPU/);
    expect(check(chassisConfigSchema, { ...good, openvswitch: { dpdkLcoreMask: '0x10' } }, 'c').openvswitch?.dpdkLcoreMask).toBe('0x10');
  });

  // N5: ovsdb-server (root) acts on a Manager target: it replaces a punix: path, and a ptcp: with no address listens everywhere.
  it('refuses a Manager that would make ovsdb-server replace a file, listen on every interface, or use no port', () => {
    for (const [target, why] of [
      ['punix:/etc/passwd', /outside Open vSwitch's run directory/],
      ['punix:/run/openvswitch/../../etc/shadow', /absolute and plain/],
      ['punix:/run/openvswitch/sub/x.sock', /outside/],
      ['ptcp:6640', /every interface/],
      ['ptcp:6640:0.0.0.0', /every interface/],
      ['ptcp:6640:[::]', /every interface/],
      ['ptcp:0:127.0.0.1', /no port from 1 to 65535/],
      ['ptcp:99999:127.0.0.1', /no port/],
      ['ptcp:abc:127.0.0.1', /no port/],
      ['tcp:127.0.0.1', /no port/],
      ['ptcp:6640:nowhere', /not an IP address/],
    ] as const) expect(issues({ ...good, managers: [target] }).join('\n'), target).toMatch(why);
    const ok = ['ptcp:6640:127.0.0.1', 'punix:/run/openvswitch/metadata.sock', 'punix:/var/run/openvswitch/nova.sock', 'pssl:6641', 'tcp:[fd00::1]:6640', 'ssl:192.0.2.1:6640'];
    expect(check(chassisConfigSchema, { ...good, managers: ok }, 'c').managers).toEqual(ok);
  });

  it('accepts the DESIGN.md example and applies defaults', () => {
    const c = check(chassisConfigSchema, { ...good, hostname: 'ctl-1', bridgeMappings: { physnet1: 'br-ex' }, gateway: true }, 'config');
    expect(c.encap.type).toBe('geneve');
  });

  it.each([
    [{ encap: { ip: '10.0.0.300' } }, 'encap.ip: "10.0.0.300" is not an IPv4 or IPv6 address'],
    [{ encap: { ip: ['10.0.0.1', 'fe80::zz'] } }, 'encap.ip.1: "fe80::zz" is not an IPv4 or IPv6 address'],
    [{ encap: { ip: '10.0.0.1', type: 'gre' } }, 'encap.type: "gre" is not one of "geneve", "vxlan"'],
    [{ encap: { ip: '10.0.0.1', type: ['geneve', 'geneve'] } }, 'encap.type: ["geneve","geneve"] lists a type twice'],
    [{ ovnRemote: 'tcp:1.2.3.4' }, 'ovnRemote: "tcp:1.2.3.4" is not an OVSDB endpoint: expected tcp:HOST:PORT (IPv6 in brackets)'],
    [{ ovnRemote: 'tcp:1.2.3.4:70000' }, 'ovnRemote: "tcp:1.2.3.4:70000" is not an OVSDB endpoint: port 70000 is not 1-65535'],
    [{ ovnRemote: 'tcp:fd00::1:6642' }, 'ovnRemote: "tcp:fd00::1:6642" is not an OVSDB endpoint: expected tcp:HOST:PORT (IPv6 in brackets)'],
    [{ ovnRemote: 'http://sb:6642' }, 'ovnRemote: "http://sb:6642" is not an OVSDB endpoint: expected unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT'],
    [{ ovnRemote: 'unix:' }, 'ovnRemote: "unix:" is not an OVSDB endpoint: a unix endpoint needs a socket path'],
    [{ ovnNb: ['ssl:[fd00::zz]:6641'] }, 'ovnNb.0: "ssl:[fd00::zz]:6641" is not an OVSDB endpoint: [fd00::zz] is not an IPv6 address'],
    [{ bridgeMappings: { physnet1: 'br-external-too-long' } }, 'bridgeMappings.physnet1: "br-external-too-long" is longer than 15 bytes (the Linux limit for a bridge name)'],
    [{ bridgeMappings: { physnet1: 'br ex' } }, 'bridgeMappings.physnet1: "br ex" is not a bridge name (no spaces, commas, colons, slashes or control characters)'],
    [{ bridgeMappings: { 'phys:net': 'br-ex' } }, 'bridgeMappings.phys:net: "phys:net" is not a physnet name (no spaces, commas, colons or =)'],
    [{ bridgeMappings: ['physnet1:br-ex', 'physnet1:br-vlan'] }, 'bridgeMappings.1: "physnet1:br-vlan" maps physnet "physnet1" a second time'],
    [{ bridgeMappings: ['physnet1'] }, 'bridgeMappings.0: "physnet1" is not "physnet:bridge"'],
    [{ availabilityZones: ['az 1'] }, 'availabilityZones.0: "az 1" is not an availability-zone name (no spaces, commas, colons or =)'],
    [{ availabilityZones: ['az:1'] }, 'availabilityZones.0: "az:1" is not an availability-zone name (no spaces, commas, colons or =)'],
    [{ systemId: '' }, 'systemId: "" must not be empty'],
    [{ systemId: 'a b' }, 'systemId: "a b" must not contain whitespace or commas'],
    [{ systemId: 'a,b' }, 'systemId: "a,b" must not contain whitespace or commas'],
    [{ gateway: 'yes' }, 'gateway: "yes" is not a boolean'],
    [{ remoteProbeIntervalMs: -1 }, 'remoteProbeIntervalMs: -1 Too small: expected number to be >=0'],
    [{ chassisMacMappings: { physnet1: '52:54:00:zz:00:01' } }, 'chassisMacMappings.physnet1: "52:54:00:zz:00:01" is not a MAC address'],
    [{ extraExternalIds: { 'ovn-encap-ip': '1.1.1.1' } }, 'extraExternalIds.ovn-encap-ip: "ovn-encap-ip" is set through its own field, not extraExternalIds'],
    [{ bridges: [{ name: 'br-ex' }, { name: 'br-ex' }] }, 'bridges.1.name: "br-ex" is listed twice'],
    [{ unknownField: 1 }, 'unknownField: unknown field'],
    [{ hostname: 'cmp\u0000-1' }, 'hostname: "cmp\\u0000-1" holds a NUL character, which OVSDB cannot store'],
    [{ systemId: 'x'.repeat(900_000) }, `systemId: "${'x'.repeat(79)}… is longer than 253 characters`],
    [{ extraExternalIds: { note: 'a\ud800b' } }, 'extraExternalIds.note: "a\\ud800b" holds a lone UTF-16 surrogate, which is not valid UTF-8'],
    [{ ovnRemote: 'ssl:172.30.0.101:6642' }, 'ovnRemote: "ssl:172.30.0.101:6642" names ssl: endpoints, so ovn-controller needs a private key, certificate and CA: give ssl: {privateKey, certificate, caCert} (written to the node\'s SSL row), or ssl: {fromCommandLine: true} when ovn-controller is started with -p/-c/-C'],
    [{ ovnRemote: 'ssl:172.30.0.101:6642', ssl: { privateKey: 'key.pem', certificate: '/c', caCert: '/ca' } }, 'ssl.privateKey: "key.pem" is not an absolute path (ovn-controller opens it from wherever it runs)'],
    [{ encap: { ip: '10.0.0.1', checksum: true } }, 'encap.checksum: unknown field'],
  ])('refuses %j', (over, message) => {
    expect(issues({ ...good, ...over })).toContain(message);
  });

  it('accepts an ssl: remote with the node\'s TLS files, or with ovn-controller taking them from its command line', () => {
    for (const ssl of [{ privateKey: '/etc/ovn/k.pem', certificate: '/etc/ovn/c.pem', caCert: '/etc/ovn/ca.pem', bootstrapCaCert: true }, { fromCommandLine: true }]) {
      expect(check(chassisConfigSchema, { ...good, ovnRemote: 'ssl:172.30.0.101:6642', ssl }, 'config').ssl).toEqual(ssl);
    }
  });

  it('names a missing required field', () => {
    expect(issues({ ovnRemote: 'tcp:1.2.3.4:6642', encap: {} })).toEqual(['systemId: required', 'encap.ip: required']);
  });
});

describe('loading config files', () => {
  const dir = tempDir('cfg');

  it('refuses duplicate keys (a physnet mapped twice in YAML)', () => {
    expect(() => parseYaml('bridgeMappings:\n  physnet1: br-ex\n  physnet1: br-vlan\n', 'c.yaml')).toThrow(/Map keys must be unique.*line 3/);
  });

  it('refuses a YAML alias bomb without expanding it', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', ...'bcdefghi'.split('').map((l, i) => `${l}: &${l} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`)].join('\n');
    expect(() => parseYaml(bomb, 'bomb.yaml')).toThrow(/alias/i);
  });

  it('refuses a file over 1 MiB before parsing it', () => {
    const big = join(dir, 'big.yaml');
    writeFileSync(big, `systemId: x\npadding: "${'x'.repeat(10 * 1024 * 1024)}"\n`);
    expect(() => loadConfigFile(chassisConfigSchema, big)).toThrow(/the file is 10485\d+ bytes; the limit is 1048576/);
  });

  it('refuses a __proto__ key, which a JavaScript object would not keep as data', () => {
    expect(() => parseYaml('systemId: a\n__proto__: {gateway: true}\n', 'c.yaml')).toThrow(/the key __proto__ is not allowed/);
    expect(() => parseYaml('{"systemId": "a", "encap": {"__proto__": {"ip": "1.2.3.4"}}}', 'c.json')).toThrow(/the key __proto__ is not allowed/);
  });

  it('refuses what the YAML parser cannot read without running out of stack, and keys that are lists or maps (found by fuzzing)', () => {
    const deep = readFileSync(new URL('../fixtures/fuzz-yaml-deep-block.yaml', import.meta.url), 'utf8');
    expect(() => parseYaml(deep, 'c.yaml')).toThrow(/the document nests too deeply to be read/);
    expect(() => parseYaml(`a: ${'['.repeat(100)}${']'.repeat(100)}`, 'c.yaml')).toThrow(/nests \[ or \{ deeper than 64 levels/);
    expect(() => parseYaml('? [a, b]\n: c\n', 'c.yaml')).toThrow(/a key must be a plain value, not a list or a map/);
  });

  it('holds to the size limit on devices and streams, which claim no size', () => {
    expect(() => loadConfigFile(chassisConfigSchema, '/dev/zero')).toThrow(/the input is over 1048576 bytes/);
  });

  it('says when a file cannot be read', () => {
    expect(() => loadConfigFile(chassisConfigSchema, join(dir, 'absent.yaml'))).toThrow(/cannot read it: ENOENT/);
  });

  it('reads JSON as well as YAML', () => {
    const f = join(dir, 'c.json');
    writeFileSync(f, JSON.stringify(good));
    expect(loadConfigFile(chassisConfigSchema, f).systemId).toBe(good.systemId);
  });
});
