import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addressKey } from './address-key.ts';

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
    for (const a of ['2001:db8:1:2:ffff:ffff:ffff:ffff', '2001:0db8:0001:0002:a:b:c:d', '2001:DB8:1:2::', '2001:db8:1:2:3:4:1.2.3.4', '2001:db8:1:2::1%eth0']) {
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
});
