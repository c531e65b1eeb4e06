import { describe, expect, it } from 'vitest';
import { parseIpAddr } from '../../agent/node.js';

describe('the node\'s interfaces, from `ip -o addr` run over SSH (direct mode)', () => {
  it('reads each interface\'s addresses and prefixes', () => {
    const text = [
      '1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever',
      '2: eth0    inet 192.0.2.11/24 brd 192.0.2.255 scope global eth0\\       valid_lft forever',
      '2: eth0    inet6 fd00::11/64 scope global \\       valid_lft forever',
      '3: br-ex@eth1    inet 198.51.100.7/28 scope global br-ex',
    ].join('\n');
    expect(parseIpAddr(text)).toEqual([
      { name: 'lo', addresses: [{ address: '127.0.0.1', prefix: 8 }] },
      { name: 'eth0', addresses: [{ address: '192.0.2.11', prefix: 24 }, { address: 'fd00::11', prefix: 64 }] },
      { name: 'br-ex', addresses: [{ address: '198.51.100.7', prefix: 28 }] },
    ]);
  });

  // N9: the node's words; an address that is not one never becomes an encap IP.
  it('leaves out what is not an address, or a prefix too long for its family', () => {
    const text = [
      '2: eth0    inet 300.2.3.4/24 scope global eth0',
      '2: eth0    inet 192.0.2.1/33 scope global eth0',
      '2: eth0    inet6 fd00::1/129 scope global',
      '2: eth0    inet6 fd00:::1/64 scope global',
      '2: eth0    inet 192.0.2.2/1000 scope global eth0',
      '2: eth0    inet 192.0.2.3/32 scope global eth0',
    ].join('\n');
    expect(parseIpAddr(text)).toEqual([{ name: 'eth0', addresses: [{ address: '192.0.2.3', prefix: 32 }] }]);
  });
});
