// Keeps callback URLs from reaching the service's own network (SSRF): only http(s), and no host
// that resolves to loopback, private, link-local, CGNAT, multicast, unspecified or cloud-metadata
// addresses, unless the operator allow-lists it (COUNTERSIGN_CALLBACK_ALLOW: CIDRs, IPs or host
// names, comma-separated). Checked when a request is created and again at connect time for every
// delivery, against the addresses actually dialled (DNS may change in between).
import { lookup as dnsLookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

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

export function isForbiddenAddress(address: string, allow: CallbackAllowList): boolean {
  const { address: plain, type } = normalise(address);
  if (allow.blocks.check(plain, type)) return false;
  return FORBIDDEN.check(plain, type);
}

export class CallbackUrlError extends Error {
  override name = 'CallbackUrlError';
}

/** The URL's addresses, each checked; throws CallbackUrlError when the URL may not be called. */
export async function resolveCallbackTarget(
  rawUrl: string,
  allow: CallbackAllowList,
  lookupAll: LookupAll = systemLookup,
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
  const forbidden = addresses.find((a) => isForbiddenAddress(a.address, allow));
  if (forbidden) {
    throw new CallbackUrlError(
      `host ${host} resolves to ${forbidden.address}, a loopback, private, link-local or metadata address; ` +
        'allow it with COUNTERSIGN_CALLBACK_ALLOW if this is intended',
    );
  }
  return addresses;
}
