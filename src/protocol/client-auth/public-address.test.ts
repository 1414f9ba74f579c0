import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addressAllowed,
  isLoopbackAddress,
  isLoopbackHostName,
  isPublicAddress,
  outboundHostProblem,
} from './public-address.ts';

describe('public addresses (what a jwks_uri fetch may connect to)', () => {
  it('IPv4: public unicast yes; private, loopback, link-local, shared, reserved, documentation, multicast no', () => {
    for (const ip of [
      '8.8.8.8',
      '1.1.1.1',
      '93.184.216.34',
      '172.15.255.255',
      '172.32.0.1',
      '100.63.255.255',
      '100.128.0.0',
      '192.0.1.1',
    ])
      assert.equal(isPublicAddress(ip), true, ip);
    for (const ip of [
      '0.0.0.0',
      '0.1.2.3',
      '10.0.0.1',
      '10.255.255.255',
      '100.64.0.1',
      '100.127.255.255',
      '127.0.0.1',
      '127.255.255.254',
      '169.254.169.254',
      '172.16.0.1',
      '172.31.255.255',
      '192.0.0.8',
      '192.0.2.1',
      '192.88.99.1',
      '192.168.1.1',
      '198.18.0.1',
      '198.19.255.255',
      '198.51.100.7',
      '203.0.113.9',
      '224.0.0.1',
      '239.255.255.250',
      '240.0.0.1',
      '255.255.255.255',
    ])
      assert.equal(isPublicAddress(ip), false, ip);
  });
  it('IPv6: global unicast yes; loopback, unspecified, unique-local, link-local, multicast, documentation, Teredo, 6to4 no', () => {
    for (const ip of [
      '2606:4700:4700::1111',
      '2001:4860:4860::8888',
      '2a00:1450:4001:82a::200e',
      '[2606:4700:4700::1111]',
    ])
      assert.equal(isPublicAddress(ip), true, ip);
    for (const ip of [
      '::',
      '::1',
      '[::1]',
      'fc00::1',
      'fd12:3456:789a::1',
      'fe80::1',
      'fe80::1%eth0',
      'febf::1',
      'fec0::1',
      'ff02::1',
      'ff0e::1',
      '2001:db8::1',
      '2001:0:4136:e378:8000:63bf:3fff:fdd2',
      '2002:c0a8:101::1',
      '100::1',
      '3fff::1',
      '::127.0.0.1',
      '1::1',
      '4000::1',
      'e000::1',
    ])
      assert.equal(isPublicAddress(ip), false, ip);
  });
  it('IPv4 inside IPv6 (mapped, NAT64) is judged as the IPv4 address, in every spelling', () => {
    for (const ip of [
      '::ffff:127.0.0.1',
      '::ffff:7f00:1',
      '::FFFF:10.0.0.1',
      '0:0:0:0:0:ffff:a00:1',
      '::ffff:169.254.169.254',
      '::ffff:192.168.0.1',
      '64:ff9b::10.0.0.1',
      '64:ff9b::7f00:1',
    ]) {
      assert.equal(isPublicAddress(ip), false, ip);
    }
    for (const ip of ['::ffff:8.8.8.8', '::ffff:808:808', '64:ff9b::8.8.8.8'])
      assert.equal(isPublicAddress(ip), true, ip);
  });
  it('refuses what is not an IP address at all', () => {
    for (const s of [
      '',
      'localhost',
      'example.com',
      '1.2.3',
      '1.2.3.4.5',
      '256.1.1.1',
      '::g',
      '12345::',
      '0x7f.0.0.1',
      '2130706433',
    ])
      assert.equal(isPublicAddress(s), false, s);
  });
  it('loopback: 127/8, ::1 and mapped loopback; localhost names', () => {
    for (const ip of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', '::ffff:127.0.0.1', '0:0:0:0:0:0:0:1'])
      assert.equal(isLoopbackAddress(ip), true, ip);
    for (const ip of ['10.0.0.1', '::', '::2', '8.8.8.8', 'fe80::1', 'localhost'])
      assert.equal(isLoopbackAddress(ip), false, ip);
    for (const h of ['localhost', 'LOCALHOST', 'localhost.', 'app.localhost', '127.0.0.1', '::1'])
      assert.equal(isLoopbackHostName(h), true, h);
    for (const h of ['localhost.evil.example', 'example.com', '10.0.0.1'])
      assert.equal(isLoopbackHostName(h), false, h);
  });
  it('the development allowance admits loopback, never other private addresses', () => {
    assert.equal(addressAllowed('127.0.0.1', false), false);
    assert.equal(addressAllowed('127.0.0.1', true), true);
    assert.equal(addressAllowed('::1', true), true);
    assert.equal(addressAllowed('::ffff:127.0.0.1', true), true);
    for (const ip of ['10.0.0.1', '192.168.0.1', '169.254.169.254', 'fd00::1', 'fe80::1', '0.0.0.0', '::'])
      assert.equal(addressAllowed(ip, true), false, ip);
    assert.equal(addressAllowed('8.8.8.8', false), true);
  });

  it('outboundHostProblem judges the host of a URL literally, in every spelling the URL parser folds', () => {
    const host = (h: string) => new URL(`https://${h}/x`).hostname;
    for (const h of [
      '127.1',
      '2130706434',
      '0x7f.1',
      '0177.0.0.1',
      '017700000001',
      '[::ffff:127.0.0.1]',
      '[::1]',
      '0',
      '10.1',
      '0x0a000001',
      '[::ffff:10.0.0.1]',
      '[64:ff9b::10.0.0.1]',
      '[fe80::1]',
      '169.254.169.254',
      '[::7f00:1]',
    ]) {
      assert.match(outboundHostProblem(host(h), false) ?? '', /is not a public address/, h);
    }
    // The development allowance lets loopback through, never private networks.
    for (const h of ['127.1', '2130706434', '[::ffff:127.0.0.1]', '[::1]', 'localhost', 'api.localhost'])
      assert.equal(outboundHostProblem(host(h), true), undefined, h);
    for (const h of ['10.1', '192.168.0.1', '[fd00::1]'])
      assert.match(outboundHostProblem(host(h), true) ?? '', /not a public address/, h);
    // Production: special-use names (RFC 6761 and friends) and single labels.
    for (const h of [
      'localhost',
      'LOCALHOST.',
      'api.localhost',
      'printer.local',
      'svc.internal',
      'x.test',
      'x.invalid',
      'www.example',
      'router.home.arpa',
      'abc.onion',
      'x.alt',
      '1.0.0.127.in-addr.arpa',
      'intranet',
    ]) {
      assert.match(outboundHostProblem(host(h), false) ?? '', /special-use name|fully qualified/, h);
    }
    for (const h of [
      'rp.example.com',
      '8.8.8.8',
      '[2606:4700:4700::1111]',
      'localhost.example.com',
      'test.example.org',
    ])
      assert.equal(outboundHostProblem(host(h), false), undefined, h);
  });
});
