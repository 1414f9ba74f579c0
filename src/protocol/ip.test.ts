import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ipv4Bytes, ipv6Groups, ipVersion, samePrefix } from './ip.ts';

// The expected versions are net.isIP's answers for the same strings (checked when this module
// replaced it in the protocol room).
describe('IP literals without the net module', () => {
  it('tells IPv4 and IPv6 literals apart as net.isIP does', () => {
    const cases: [string, 0 | 4 | 6][] = [
      ['1.2.3.4', 4],
      ['255.255.255.255', 4],
      ['01.2.3.4', 0],
      ['1.2.3.04', 0],
      ['256.1.1.1', 0],
      ['1.2.3', 0],
      ['1.2.3.4.', 0],
      ['0x1.2.3.4', 0],
      ['1.2.3.4 ', 0],
      ['::', 6],
      ['1::', 6],
      ['1:2:3:4:5:6:7:8', 6],
      ['1:2:3:4:5:6:7:8:9', 0],
      ['1:2:3:4:5:6:7::', 6],
      ['::1:2:3:4:5:6:7', 6],
      ['00001::', 0],
      ['0000:0000::', 6],
      [' ::1', 0],
      ['::1 ', 0],
      ['[::1]', 0],
      ['::ffff:1.2.3.4', 6],
      ['::FFFF:1.2.3.4', 6],
      ['::ffff:01.2.3.4', 0],
      ['::1.2.3.4', 6],
      ['1:2:3:4:5:6:1.2.3.4', 6],
      ['1:2:3:4:5:6:7:1.2.3.4', 0],
      ['fe80::1%eth0', 6],
      ['fe80::1%25eth0', 6],
      ['fe80::1%', 0],
      ['fe80::1%a b', 0],
      ['::%1', 6],
      ['::1\t', 0],
      ['::\n1', 0],
    ];
    for (const [s, version] of cases) assert.equal(ipVersion(s), version, JSON.stringify(s));
  });
  it('gives the numeric parts, every IPv6 spelling folded', () => {
    assert.deepEqual(ipv4Bytes('192.0.2.7'), [192, 0, 2, 7]);
    assert.equal(ipv4Bytes('192.0.2'), undefined);
    assert.deepEqual(ipv6Groups('2001:DB8::1'), [0x2001, 0xdb8, 0, 0, 0, 0, 0, 1]);
    assert.deepEqual(ipv6Groups('::ffff:127.0.0.1'), [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
    assert.deepEqual(ipv6Groups('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(ipv6Groups('fe80::1%eth0'), undefined);
  });
  it('compares prefixes bit by bit', () => {
    assert.equal(samePrefix([172, 31, 255, 255], [172, 16, 0, 0], 12, 8), true);
    assert.equal(samePrefix([172, 32, 0, 1], [172, 16, 0, 0], 12, 8), false);
    assert.equal(samePrefix(ipv6Groups('3fff:0fff::1')!, ipv6Groups('3fff::')!, 20, 16), true);
    assert.equal(samePrefix(ipv6Groups('3fff:1000::1')!, ipv6Groups('3fff::')!, 20, 16), false);
    assert.equal(samePrefix([1, 2, 3, 4], [9, 9, 9, 9], 0, 8), true);
  });
});
