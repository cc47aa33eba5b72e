// The SSRF guard's pure parts: which addresses are forbidden, what the allow list lets through, and
// how a URL is resolved and judged (with an injected resolver: no DNS, no network).
import { describe, expect, it, vi } from 'vitest';
import {
  CallbackUrlError,
  isForbiddenAddress,
  parseAllowList,
  resolveCallbackTarget,
  type LookupAll,
} from './url-guard.ts';

const nothingAllowed = parseAllowList(undefined);

describe('isForbiddenAddress', () => {
  it.each([
    ['0.0.0.0', 'unspecified'],
    ['10.0.0.1', 'private 10/8'],
    ['10.255.255.255', 'private 10/8, last'],
    ['100.64.0.1', 'CGNAT'],
    ['100.100.100.200', 'CGNAT (Alibaba metadata)'],
    ['100.127.255.255', 'CGNAT, last'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback /8'],
    ['169.254.169.254', 'link-local, cloud metadata'],
    ['169.254.0.1', 'link-local'],
    ['172.16.0.1', 'private 172.16/12'],
    ['172.31.255.255', 'private 172.16/12, last'],
    ['192.0.0.192', 'IETF protocol assignments (Oracle metadata)'],
    ['192.168.1.1', 'private 192.168/16'],
    ['198.18.0.1', 'benchmarking'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'IPv6 unspecified'],
    ['::1', 'IPv6 loopback'],
    ['fc00::1', 'unique local'],
    ['fd00:ec2::254', 'AWS metadata over IPv6'],
    ['fe80::1', 'IPv6 link-local'],
    ['ff02::1', 'IPv6 multicast'],
    ['::ffff:127.0.0.1', 'IPv4-mapped loopback, dotted'],
    ['::ffff:7f00:1', 'IPv4-mapped loopback, hex'],
    ['::ffff:10.0.0.1', 'IPv4-mapped private'],
    ['::FFFF:169.254.169.254', 'IPv4-mapped metadata, upper case'],
    ['64:ff9b::7f00:1', 'NAT64 of loopback'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of cloud metadata'],
  ])('refuses %s (%s)', (address) => {
    expect(isForbiddenAddress(address, nothingAllowed)).toBe(true);
  });

  it.each([
    ['93.184.216.34'],
    ['8.8.8.8'],
    ['9.255.255.255'],
    ['11.0.0.0'],
    ['100.63.255.255'],
    ['100.128.0.0'],
    ['172.15.255.255'],
    ['172.32.0.0'],
    ['169.253.255.255'],
    ['192.167.255.255'],
    ['192.169.0.0'],
    ['2606:4700:4700::1111'],
    ['2001:4860:4860::8888'],
    ['::ffff:8.8.8.8'],
    ['::ffff:808:808'],
  ])('lets public %s through', (address) => {
    expect(isForbiddenAddress(address, nothingAllowed)).toBe(false);
  });
});

describe('parseAllowList', () => {
  const allow = parseAllowList(' 127.0.0.1, 10.0.0.0/8 ,::1,fd00::/8, Evil.Example,,');

  it('reads single addresses, CIDRs (v4 and v6) and lower-cased host names', () => {
    expect([...allow.hosts]).toEqual(['evil.example']);
    expect(isForbiddenAddress('127.0.0.1', allow)).toBe(false);
    expect(isForbiddenAddress('10.1.2.3', allow)).toBe(false);
    expect(isForbiddenAddress('::1', allow)).toBe(false);
    expect(isForbiddenAddress('fd12:3456::1', allow)).toBe(false);
  });

  it('allows only what it names: neighbours stay forbidden', () => {
    expect(isForbiddenAddress('127.0.0.2', allow)).toBe(true);
    expect(isForbiddenAddress('11.0.0.0', allow)).toBe(false); // public anyway
    expect(isForbiddenAddress('172.16.0.1', allow)).toBe(true);
    expect(isForbiddenAddress('169.254.169.254', allow)).toBe(true);
    expect(isForbiddenAddress('fc00::1', allow)).toBe(true);
  });

  it('applies an allowed IPv4 address to its IPv4-mapped IPv6 form', () => {
    expect(isForbiddenAddress('::ffff:10.9.8.7', allow)).toBe(false);
    expect(isForbiddenAddress('::ffff:127.0.0.1', allow)).toBe(false);
    expect(isForbiddenAddress('::ffff:192.168.0.1', allow)).toBe(true);
  });

  it('is empty for an unset or blank setting', () => {
    for (const value of [undefined, '', ' , ']) {
      const empty = parseAllowList(value);
      expect(empty.hosts.size).toBe(0);
      expect(isForbiddenAddress('127.0.0.1', empty)).toBe(true);
    }
  });
});

describe('resolveCallbackTarget', () => {
  const resolver = (table: Record<string, string[]>): LookupAll =>
    vi.fn((host: string) => {
      const addresses = table[host];
      if (!addresses) {
        return Promise.reject(
          Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }),
        );
      }
      return Promise.resolve(
        addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
      );
    });

  const refusal = (url: string, lookupAll: LookupAll = resolver({}), allow = nothingAllowed) =>
    resolveCallbackTarget(url, allow, lookupAll).then(
      () => expect.fail(`${url} was accepted`),
      (error: unknown) => {
        expect(error).toBeInstanceOf(CallbackUrlError);
        return (error as Error).message;
      },
    );

  it.each([
    'http://127.0.0.1/x',
    'http://169.254.169.254/latest/meta-data',
    'http://10.0.0.1/x',
    'http://[::1]/x',
    'http://[::ffff:127.0.0.1]/x',
    'http://[fd00:ec2::254]/x',
    'http://0x7f000001/x', // the URL parser turns these spellings of 127.0.0.1 into the usual one
    'http://2130706433/x',
    'http://127.1/x',
    'http://0177.0.0.1/x',
    'https://100.64.0.1:8443/x',
  ])('refuses the literal address in %s without resolving anything', async (url) => {
    const lookupAll = resolver({});
    expect(await refusal(url, lookupAll)).toMatch(/resolves to .*COUNTERSIGN_CALLBACK_ALLOW/);
    expect(lookupAll).not.toHaveBeenCalled();
  });

  it.each([
    ['ftp://example.com/x', /http or https/],
    ['file:///etc/passwd', /http or https/],
    ['javascript:alert(1)', /http or https/],
    ['not a url', /not a valid URL/],
    ['https://user:pass@example.com/x', /credentials/],
  ])('refuses %s', async (url, message) => {
    expect(await refusal(url, resolver({ 'example.com': ['93.184.216.34'] }))).toMatch(message);
  });

  it('refuses a name when any of its addresses is forbidden, or when it does not resolve', async () => {
    const lookupAll = resolver({
      'evil.example': ['127.0.0.1'],
      'mixed.example': ['93.184.216.34', '10.1.2.3'],
      'mapped.example': ['::ffff:169.254.169.254'],
      'nat64.example': ['64:ff9b::a00:1'],
      'empty.example': [],
    });
    expect(await refusal('http://evil.example/x', lookupAll)).toMatch(
      /evil\.example resolves to 127\.0\.0\.1/,
    );
    expect(await refusal('http://EVIL.Example/x', lookupAll)).toMatch(/evil\.example resolves to 127/);
    expect(await refusal('http://mixed.example/x', lookupAll)).toMatch(/10\.1\.2\.3/);
    expect(await refusal('http://mapped.example/x', lookupAll)).toMatch(/169\.254\.169\.254/);
    expect(await refusal('http://nat64.example/x', lookupAll)).toMatch(/64:ff9b::a00:1/);
    expect(await refusal('http://empty.example/x', lookupAll)).toMatch(/does not resolve/);
    expect(await refusal('http://nowhere.example/x', lookupAll)).toMatch(/does not resolve/);
  });

  it('returns the vetted addresses of a public name, and of what the allow list names', async () => {
    const lookupAll = resolver({
      'public.example': ['93.184.216.34', '2606:2800:220:1::1'],
      'evil.example': ['127.0.0.1'],
    });
    await expect(
      resolveCallbackTarget('https://public.example/hook', nothingAllowed, lookupAll),
    ).resolves.toEqual([
      { address: '93.184.216.34', family: 4 },
      { address: '2606:2800:220:1::1', family: 6 },
    ]);
    const allow = parseAllowList('127.0.0.1,10.0.0.0/8,::1,evil.example');
    await expect(resolveCallbackTarget('http://evil.example/x', allow, lookupAll)).resolves.toEqual([
      { address: '127.0.0.1', family: 4 },
    ]);
    for (const url of [
      'http://127.0.0.1/x',
      'http://10.0.0.1/x',
      'http://[::1]/x',
      'http://[::ffff:127.0.0.1]/x',
    ]) {
      await expect(resolveCallbackTarget(url, allow, lookupAll), url).resolves.toHaveLength(1);
    }
    expect(await refusal('http://169.254.169.254/latest/meta-data', lookupAll, allow)).toMatch(/169\.254/);
  });

  it('refuses an allowed host name that does not resolve, as a URL error', async () => {
    const allow = parseAllowList('gone.example,empty.example');
    const lookupAll = resolver({ 'empty.example': [] });
    expect(await refusal('http://gone.example/x', lookupAll, allow)).toMatch(
      /gone\.example does not resolve/,
    );
    expect(await refusal('http://empty.example/x', lookupAll, allow)).toMatch(
      /empty\.example does not resolve/,
    );
  });
});
