import { describe, expect, it } from 'vitest';
import { whyNotDirectLoopback } from './is-direct-loopback-request.ts';

const local = { remoteAddress: '127.0.0.1', headers: { host: '127.0.0.1:3000' } };

describe('whyNotDirectLoopback', () => {
  it('accepts loopback peers with a loopback Host', () => {
    expect(whyNotDirectLoopback(local)).toBeUndefined();
    expect(whyNotDirectLoopback({ remoteAddress: '::1', headers: { host: '[::1]:3000' } })).toBeUndefined();
    expect(
      whyNotDirectLoopback({ remoteAddress: '::ffff:127.0.0.1', headers: { host: 'localhost' } }),
    ).toBeUndefined();
  });

  it('refuses a peer that is not loopback, even with a loopback Host', () => {
    expect(whyNotDirectLoopback({ ...local, remoteAddress: '10.0.0.5' })).toMatch(/connection/);
    expect(whyNotDirectLoopback({ ...local, remoteAddress: '::ffff:203.0.113.9' })).toMatch(/connection/);
    expect(whyNotDirectLoopback({ ...local, remoteAddress: undefined })).toMatch(/connection/);
  });

  it('refuses a Host that is not loopback, or none', () => {
    expect(whyNotDirectLoopback({ ...local, headers: { host: 'countersign.example.com' } })).toMatch(/host/);
    expect(whyNotDirectLoopback({ ...local, headers: { host: '127.0.0.1.nip.io:3000' } })).toMatch(/host/);
    expect(whyNotDirectLoopback({ ...local, headers: { host: '[::2]:3000' } })).toMatch(/host/);
    expect(whyNotDirectLoopback({ ...local, headers: {} })).toMatch(/host/);
  });

  it('refuses any forwarding header', () => {
    for (const name of ['forwarded', 'x-forwarded-for', 'x-forwarded-host', 'x-forwarded-proto']) {
      expect(whyNotDirectLoopback({ ...local, headers: { ...local.headers, [name]: '' } })).toContain(name);
    }
  });
});
