// Keeps callback URLs from reaching the service's own network (SSRF): only http(s), and no host
// that resolves to loopback, private, link-local, CGNAT, multicast, unspecified or cloud-metadata
// addresses, to an IPv6 form that wraps an IPv4 address, or to one of this host's own interface
// addresses, unless the operator allow-lists it (COUNTERSIGN_CALLBACK_ALLOW: CIDRs, IPs or host
// names, comma-separated). Checked when a request is created and again at connect time for every
// delivery, against the addresses actually dialled (DNS may change in between).
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

const FORBIDDEN = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], // "this network", unspecified
  ['10.0.0.0', 8], // private
  ['100.64.0.0', 10], // carrier-grade NAT
  ['127.0.0.0', 8], // loopback
  ['169.254.0.0', 16], // link-local, including 169.254.169.254 cloud metadata
  ['172.16.0.0', 12], // private
  ['192.0.0.0', 24], // IETF protocol assignments
  ['192.168.0.0', 16], // private
  ['198.18.0.0', 15], // benchmarking
  ['224.0.0.0', 4], // multicast
  ['240.0.0.0', 4], // reserved, broadcast
  ['168.63.129.16', 32], // Azure wire server (platform metadata, DNS, health)
] as const) {
  FORBIDDEN.addSubnet(network, prefix, 'ipv4');
}
for (const [network, prefix] of [
  ['::', 128], // unspecified
  ['::1', 128], // loopback
  ['fc00::', 7], // unique local (includes fd00:ec2::254, AWS metadata over IPv6)
  ['fe80::', 10], // link-local
  ['ff00::', 8], // multicast
  ['64:ff9b::', 96], // NAT64 (may embed a private IPv4)
  // Forms that carry an IPv4 address a gateway or the kernel may unwrap. All are deprecated or
  // transition-only, so they are refused whole rather than judged by the IPv4 inside:
  // (::/96 IPv4-compatible and ::ffff:0:0/96 IPv4-translated are in wrapsIPv4: BlockList matches
  // every IPv4 address against an IPv6 rule for ::/96.)
  ['64:ff9b:1::', 48], // local-use NAT64 (RFC 8215)
  ['2002::', 16], // 6to4 (RFC 3056, deprecated by RFC 7526): 2002:7f00:1:: wraps 127.0.0.1
  ['2001::', 32], // Teredo: the client's IPv4 is inside, obfuscated
  ['100::', 64], // discard-only (RFC 6666)
] as const) {
  FORBIDDEN.addSubnet(network, prefix, 'ipv6');
}

export type LookupAll = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemLookup: LookupAll = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

export interface CallbackAllowList {
  hosts: Set<string>;
  blocks: BlockList;
}

export function parseAllowList(value: string | undefined): CallbackAllowList {
  const hosts = new Set<string>();
  const blocks = new BlockList();
  for (const entry of (value ?? '')
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)) {
    const [address, prefixText] = entry.split('/');
    const family = address ? isIP(address) : 0;
    if (address && family) {
      const type = family === 4 ? 'ipv4' : 'ipv6';
      if (prefixText === undefined) blocks.addAddress(address, type);
      else blocks.addSubnet(address, Number(prefixText), type);
    } else {
      hosts.add(entry.toLowerCase());
    }
  }
  return { hosts, blocks };
}

/** An IPv4-mapped IPv6 address (::ffff:10.0.0.1) is judged as the IPv4 address it carries. */
function normalise(address: string): { address: string; type: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return { address: mapped[1], type: 'ipv4' };
  return { address, type: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** This host's interface addresses (read when asked: interfaces come and go). */
export type InterfaceAddresses = () => string[];

export const systemInterfaceAddresses: InterfaceAddresses = () =>
  Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((i) => i.address));

/** With HOST=0.0.0.0 the service (and anything else on the host) answers on every one of them. */
function ownAddressList(addresses: string[]): BlockList {
  const own = new BlockList();
  for (const raw of addresses) {
    const address = raw.replace(/%.*$/, ''); // link-local zone, e.g. fe80::1%eth0
    const family = isIP(address);
    if (family) own.addAddress(address, family === 4 ? 'ipv4' : 'ipv6');
  }
  return own;
}

/** The eight 16-bit groups of an IPv6 address (zone removed); undefined if it is not one. */
function ipv6Groups(address: string): number[] | undefined {
  if (isIP(address) !== 6) return undefined;
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = text.slice(0, dotted.index) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * IPv4-compatible (::a.b.c.d, deprecated by RFC 4291) and IPv4-translated (::ffff:0:a.b.c.d, SIIT)
 * addresses: refused whole, whatever IPv4 they carry (nothing legitimate uses them).
 */
function wrapsIPv4(address: string): boolean {
  const g = ipv6Groups(address);
  if (!g) return false;
  const zeros = (from: number, to: number) => g.slice(from, to).every((x) => x === 0);
  return zeros(0, 6) || (zeros(0, 4) && g[4] === 0xffff && g[5] === 0);
}

export function isForbiddenAddress(
  address: string,
  allow: CallbackAllowList,
  interfaceAddresses: InterfaceAddresses = systemInterfaceAddresses,
): boolean {
  const { address: plain, type } = normalise(address);
  if (allow.blocks.check(plain, type)) return false;
  if (FORBIDDEN.check(plain, type) || (type === 'ipv6' && wrapsIPv4(plain))) return true;
  return ownAddressList(interfaceAddresses()).check(plain, type);
}

export class CallbackUrlError extends Error {
  override name = 'CallbackUrlError';
}

/** The URL's addresses, each checked; throws CallbackUrlError when the URL may not be called. */
export async function resolveCallbackTarget(
  rawUrl: string,
  allow: CallbackAllowList,
  lookupAll: LookupAll = systemLookup,
  interfaceAddresses: InterfaceAddresses = systemInterfaceAddresses,
): Promise<{ address: string; family: number }[]> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new CallbackUrlError('is not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CallbackUrlError('must be http or https');
  if (url.username || url.password) throw new CallbackUrlError('must not contain credentials');
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  let addresses: { address: string; family: number }[];
  try {
    addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await lookupAll(host);
  } catch {
    throw new CallbackUrlError(`host ${host} does not resolve`);
  }
  if (addresses.length === 0) throw new CallbackUrlError(`host ${host} does not resolve`);
  if (allow.hosts.has(host)) return addresses;
  const own = interfaceAddresses();
  const forbidden = addresses.find((a) => isForbiddenAddress(a.address, allow, () => own));
  if (forbidden) {
    throw new CallbackUrlError(
      `host ${host} resolves to ${forbidden.address}, a loopback, private, link-local, metadata or own address; ` +
        'allow it with COUNTERSIGN_CALLBACK_ALLOW if this is intended',
    );
  }
  return addresses;
}
