// The SSRF guard's pure parts: which addresses are forbidden, what the allow list lets through, and
// how a URL is resolved and judged (with an injected resolver: no DNS, no network).
import { networkInterfaces } from 'node:os';
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

describe('isForbiddenAddress: IPv6 forms that wrap IPv4, and other gaps (issue 12)', () => {
  const none = () => [];
  it.each([
    ['::7f00:1', 'IPv4-compatible loopback ([::127.0.0.1] as the URL parser writes it)'],
    ['::127.0.0.1', 'IPv4-compatible loopback, dotted'],
    ['::a9fe:a9fe', 'IPv4-compatible metadata'],
    ['::ffff:0:7f00:1', 'IPv4-translated loopback ([::ffff:0:127.0.0.1])'],
    ['::ffff:0:a00:1', 'IPv4-translated private'],
    ['2002:7f00:1::', '6to4 wrapping loopback'],
    ['2002:a00:1::1', '6to4 wrapping 10.0.0.1'],
    ['2002:c0a8:101::', '6to4 wrapping 192.168.1.1'],
    ['2002:a9fe:a9fe::', '6to4 wrapping link-local metadata'],
    ['100::1', 'discard-only 100::/64'],
    ['100::ffff:ffff:ffff:ffff', 'discard-only, last'],
    ['168.63.129.16', 'Azure wire server'],
    ['::ffff:168.63.129.16', 'Azure wire server, IPv4-mapped'],
    ['64:ff9b::a9fe:a9fe', 'NAT64 of metadata'],
    ['64:ff9b::c0a8:101', 'NAT64 of 192.168.1.1'],
    ['64:ff9b:1::a00:1', 'local-use NAT64'],
    ['2001::1', 'Teredo'],
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', 'Teredo, a real-looking one'],
  ])('refuses %s (%s)', (address) => {
    expect(isForbiddenAddress(address, nothingAllowed, none)).toBe(true);
  });

  it.each(['2001:4860:4860::8888', '2001:db9::1', '2003::1', '101::1', '168.63.129.17', '168.63.128.16'])(
    'still lets the public neighbour %s through',
    (address) => {
      expect(isForbiddenAddress(address, nothingAllowed, none)).toBe(false);
    },
  );

  it("refuses the host's own interface addresses, even public ones", () => {
    const own = () => ['127.0.0.1', '::1', '8.8.4.4', '2606:4700:4700::1001', 'fe80::1%eth0'];
    expect(isForbiddenAddress('8.8.4.4', nothingAllowed, own)).toBe(true);
    expect(isForbiddenAddress('::ffff:8.8.4.4', nothingAllowed, own)).toBe(true);
    expect(isForbiddenAddress('2606:4700:4700:0::1001', nothingAllowed, own)).toBe(true);
    expect(isForbiddenAddress('8.8.8.8', nothingAllowed, own)).toBe(false);
    // The operator's allow list still wins.
    expect(isForbiddenAddress('8.8.4.4', parseAllowList('8.8.4.4'), own)).toBe(false);
  });

  it("refuses every address this machine's interfaces have (os.networkInterfaces())", () => {
    const mine = Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));
    expect(mine.length).toBeGreaterThan(0);
    for (const address of mine) expect(isForbiddenAddress(address, nothingAllowed), address).toBe(true);
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
    'http://[::127.0.0.1]/x',
    'http://[::ffff:0:127.0.0.1]/x',
    'http://[2002:7f00:1::1]/x',
    'http://[2002:c0a8:101::]/x',
    'http://[100::1]/x',
    'http://168.63.129.16/machine',
    'http://[64:ff9b::169.254.169.254]/x',
    'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/x',
  ])('refuses %s (issue 12 gaps)', async (url) => {
    expect(await refusal(url)).toMatch(/resolves to .*COUNTERSIGN_CALLBACK_ALLOW/);
  });

  it("refuses a name that resolves to one of the host's own addresses", async () => {
    const lookupAll = resolver({ 'me.example': ['203.0.113.9'] });
    await expect(
      resolveCallbackTarget('https://me.example/x', nothingAllowed, lookupAll, () => ['203.0.113.9']),
    ).rejects.toThrow(/resolves to 203\.0\.113\.9/);
    await expect(
      resolveCallbackTarget('https://me.example/x', nothingAllowed, lookupAll, () => ['203.0.113.10']),
    ).resolves.toHaveLength(1);
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
