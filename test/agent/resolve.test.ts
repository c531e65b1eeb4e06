import { describe, expect, it } from 'vitest';
import { pickEncapIp } from '../../agent/resolve.js';

/** An encap IP left to the node: the one address of an interface, or of the node inside a network; never a guess. */
const ifaces = [
  { name: 'lo', addresses: [{ address: '127.0.0.1', prefix: 8 }, { address: '::1', prefix: 128 }] },
  { name: 'bond0', addresses: [{ address: '10.1.0.7', prefix: 24 }, { address: 'fe80::1', prefix: 64 }] },
  { name: 'eth1', addresses: [{ address: '10.2.0.7', prefix: 24 }, { address: '10.2.0.8', prefix: 24 }] },
  { name: 'eth2', addresses: [{ address: 'fe80::2', prefix: 64 }] },
];

describe('an encap IP found on the node', () => {
  it('takes the one address of an interface, link-local ones aside', () => {
    expect(pickEncapIp({ interface: 'bond0' }, ifaces)).toBe('10.1.0.7');
  });

  it('refuses an interface with several addresses, naming them and the way out', () => {
    expect(() => pickEncapIp({ interface: 'eth1' }, ifaces)).toThrow(/interface eth1 has several addresses \(10\.2\.0\.7, 10\.2\.0\.8\); name the network instead/);
    expect(() => pickEncapIp({ interface: 'lo' }, ifaces)).toThrow(/several addresses \(127\.0\.0\.1, ::1\)/);
  });

  it('refuses an interface the node lacks, or one with no address, saying what it has', () => {
    expect(() => pickEncapIp({ interface: 'eth9' }, ifaces)).toThrow(/this node has no interface eth9 \(it has lo, bond0, eth1, eth2\)/);
    expect(() => pickEncapIp({ interface: 'eth2' }, ifaces)).toThrow(/interface eth2 has no address/);
  });

  it('takes the one address inside a network, of either family', () => {
    expect(pickEncapIp({ cidr: '10.1.0.0/16' }, ifaces)).toBe('10.1.0.7');
    expect(pickEncapIp({ cidr: '10.2.0.8/32' }, ifaces)).toBe('10.2.0.8');
    expect(pickEncapIp({ cidr: '::1/128' }, ifaces)).toBe('::1');
  });

  it('refuses a network with none or several of the node\'s addresses', () => {
    expect(() => pickEncapIp({ cidr: '192.0.2.0/24' }, ifaces)).toThrow(/no address of this node is in 192\.0\.2\.0\/24 \(it has 127\.0\.0\.1, ::1, 10\.1\.0\.7/);
    expect(() => pickEncapIp({ cidr: '10.0.0.0/8' }, ifaces)).toThrow(/several addresses in 10\.0\.0\.0\/8 \(10\.1\.0\.7, 10\.2\.0\.7, 10\.2\.0\.8\)/);
  });
});
