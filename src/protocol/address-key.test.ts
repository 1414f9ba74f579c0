import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey, stripPort } from './address-key.ts';

describe('rate-limit key of a client address', () => {
  it('IPv4 as it is; IPv4-mapped IPv6 (both spellings) as its IPv4 address', () => {
    assert.equal(addressKey('203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::ffff:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::FFFF:cb00:7107'), '203.0.113.7');
    assert.equal(addressKey('0:0:0:0:0:ffff:203.0.113.7'), '203.0.113.7');
  });

  it('IPv6 masked to /64 by default: every address of one /64 has one key, its neighbours others', () => {
    const key = addressKey('2001:db8:1:2::1');
    assert.equal(key, '2001:db8:1:2:0:0:0:0/64');
    for (const a of [
      '2001:db8:1:2:ffff:ffff:ffff:ffff',
      '2001:0db8:0001:0002:a:b:c:d',
      '2001:DB8:1:2::',
      '2001:db8:1:2:3:4:1.2.3.4',
      '2001:db8:1:2::1%eth0',
    ]) {
      assert.equal(addressKey(a), key, a);
    }
    assert.notEqual(addressKey('2001:db8:1:3::1'), key);
    assert.notEqual(addressKey('2001:db8:1:1:ffff:ffff:ffff:ffff'), key);
    assert.equal(addressKey('::1'), '0:0:0:0:0:0:0:0/64');
    assert.equal(addressKey('::'), '0:0:0:0:0:0:0:0/64');
  });

  it('the prefix is configurable, including lengths inside a group', () => {
    assert.equal(addressKey('2001:db8:abcd:1234:5678::1', 48), '2001:db8:abcd:0:0:0:0:0/48');
    assert.equal(addressKey('2001:db8:abcd:12ff::1', 56), '2001:db8:abcd:1200:0:0:0:0/56');
    assert.equal(addressKey('2001:db8:abcd:1234:5678::1', 128), '2001:db8:abcd:1234:5678:0:0:1/128');
    assert.equal(addressKey('2001:db8:abcd:1234:5678::1', 60), '2001:db8:abcd:1230:0:0:0:0/60');
    assert.equal(addressKey('::ffff:10.1.2.3', 32), '10.1.2.3');
  });

  it('leaves what is not an IP address as it is', () => {
    for (const v of ['', 'unknown', 'a:b:c', '1:2:3:4:5:6:7:8:9', '2001:db8::g']) assert.equal(addressKey(v), v);
  });

  it('IPv6 addresses that stand for an IPv4 host count as that IPv4 host: compatible, translated, NAT64, 6to4, Teredo', () => {
    // IPv4-compatible ::a.b.c.d and IPv4-translated ::ffff:0:a.b.c.d.
    assert.equal(addressKey('::203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('::cb00:7107'), '203.0.113.7');
    assert.equal(addressKey('::ffff:0:203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('0:0:0:0:ffff:0:cb00:7107'), '203.0.113.7');
    // NAT64 well-known prefix: every IPv4 client of a translator is its own source, not one /64.
    assert.equal(addressKey('64:ff9b::203.0.113.7'), '203.0.113.7');
    assert.equal(addressKey('64:ff9b::cb00:7108'), '203.0.113.8');
    assert.notEqual(addressKey('64:ff9b::198.51.100.1'), addressKey('64:ff9b::198.51.100.2'));
    // Outside the /96 (64:ff9b:0:0:1::/80 and so on) nothing is embedded: the /64 as any address.
    assert.equal(addressKey('64:ff9b::1:0:0:1'), '64:ff9b:0:0:0:0:0:0/64');
    // Local-use NAT64 prefix (RFC 8215): the IPv4 address may sit anywhere after the operator's
    // prefix, so the whole address is the key: one per IPv4 client whatever the layout.
    assert.equal(addressKey('64:ff9b:1::203.0.113.7'), '64:ff9b:1:0:0:0:cb00:7107/128');
    assert.notEqual(addressKey('64:ff9b:1:cb00:71:700::'), addressKey('64:ff9b:1:cb00:71:800::'));
    // 6to4: the /48 of one IPv4 host, in any of its addresses.
    for (const a of ['2002:cb00:7107::1', '2002:cb00:7107:1:2:3:4:5', '2002:CB00:7107:ffff::'])
      assert.equal(addressKey(a), '203.0.113.7', a);
    assert.equal(addressKey('2002:cb00:7108::1'), '203.0.113.8');
    // Teredo: the client's address is the last 32 bits inverted (RFC 4380 section 4); server, flags and port do not
    // matter.
    assert.equal(addressKey('2001:0:4136:e378:8000:63bf:3fff:fdd2'), '192.0.2.45');
    assert.equal(addressKey('2001:0:4136:e379:0:1234:3fff:fdd2'), '192.0.2.45');
    assert.equal(addressKey('2001::ffff:ffff'), '0.0.0.0');
    assert.equal(addressKey('2001:0:4136:e378:8000:63bf:3fff:fdd3'), '192.0.2.44');
    // Not Teredo: 2001:db8::/32 and 2001:1::/32 stay IPv6 by /64.
    assert.equal(addressKey('2001:1::1'), '2001:1:0:0:0:0:0:0/64');
  });

  it('brackets and a port are removed where the form is unambiguous (X-Forwarded-For written by some proxies)', () => {
    assert.equal(stripPort('203.0.113.7:4711'), '203.0.113.7');
    assert.equal(stripPort('[2001:db8:1:2::1]:443'), '2001:db8:1:2::1');
    assert.equal(stripPort('[2001:db8:1:2::1]'), '2001:db8:1:2::1');
    assert.equal(stripPort('[fe80::1%eth0]:80'), 'fe80::1%eth0');
    assert.equal(addressKey('203.0.113.7:4711'), '203.0.113.7');
    assert.equal(addressKey('203.0.113.7:4712'), addressKey('203.0.113.7'));
    assert.equal(addressKey('[2001:db8:1:2::1]:443'), '2001:db8:1:2:0:0:0:0/64');
    assert.equal(addressKey('[::ffff:203.0.113.7]:1'), '203.0.113.7');
    assert.equal(addressKey('[64:ff9b::203.0.113.7]:8080'), '203.0.113.7');
    // A bare IPv6 address never loses its last group (2001:db8::1:443 is an address, not a port).
    assert.equal(addressKey('2001:db8:1:2::1:443', 128), '2001:db8:1:2:0:0:1:443/128');
    // What is not one of those forms stays as it is.
    for (const v of [
      '[203.0.113.7]:80',
      '[nope]:80',
      '203.0.113.7:',
      '203.0.113.7:123456',
      '1.2.3:80',
      '[2001:db8::1]:x',
      'host:80',
    ])
      assert.equal(addressKey(v), v, v);
  });
});
