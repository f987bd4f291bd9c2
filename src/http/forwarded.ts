// Behind a proxy (--trust-proxy): who the client is, and the scheme and host
// it asked for, as the proxies in front say in X-Forwarded-For, -Proto and
// -Host, or RFC 7239's Forwarded. Only a connection from a trusted peer is
// believed; from anyone else those fields are the application's to read and
// never decide anything here, so a client cannot forge its address.
//
// The client address is found as nginx's real_ip_recursive and Express's
// "trust proxy" find it: walk the hops from the right (the one nearest this
// server) and skip every trusted proxy; the first untrusted hop is the client.
import { BlockList, isIP } from 'node:net';
import { scanParameters, splitList, trimOws } from './field-grammar.js';
import type { HttpRequest } from './request-parser.js';
import { isValidAuthority } from './uri-host.js';

/** Addresses and networks whose forwarding fields are believed. */
export class TrustList {
  #list = new BlockList();
  readonly entries: readonly string[];

  /** `loopback`, an address (`10.0.0.7`, `::1`), or a network (`10.0.0.0/8`, `fd00::/8`); throws RangeError otherwise. */
  constructor(entries: readonly string[]) {
    this.entries = entries;
    for (const entry of entries) {
      if (entry === 'loopback') {
        this.#list.addSubnet('127.0.0.0', 8, 'ipv4');
        this.#list.addAddress('::1', 'ipv6');
        continue;
      }
      const [address, bits, extra] = entry.split('/');
      const family = isIP(address);
      const prefix = bits === undefined ? (family === 4 ? 32 : 128) : /^\d{1,3}$/.test(bits) ? Number(bits) : NaN;
      if (family === 0 || extra !== undefined || !(prefix >= 0 && prefix <= (family === 4 ? 32 : 128))) {
        throw new RangeError(`trustProxy: '${entry}' is not loopback, an IP address or a network (address/bits)`);
      }
      this.#list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
    }
  }

  has(address: string): boolean {
    const plain = unmapped(address);
    const family = isIP(plain);
    return family !== 0 && this.#list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
  }
}

/** "::ffff:127.0.0.1", as a dual-stack socket reports an IPv4 peer, is that IPv4 address. */
function unmapped(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export interface ForwardedView {
  /** the client's address as the proxies tell it */
  client: string;
  /** the scheme the client used, when told */
  proto: 'http' | 'https' | null;
  /** the Host the client asked for, when told (a valid authority) */
  host: string | null;
}

/** What the trusted proxies in front of this request say; null when its peer is not trusted. */
export function readForwarded(request: HttpRequest, peer: string, trust: TrustList): ForwardedView | null {
  if (!trust.has(peer)) return null;
  let forwarded: string | undefined;
  let xff: string | undefined;
  let xfp: string | undefined;
  let xfh: string | undefined;
  const headers = request.headers;
  for (let i = 0; i < headers.length; i += 2) {
    const value = headers[i + 1];
    switch (headers[i]) {
      // Repeated fields are one list (RFC 9110 §5.3).
      case 'forwarded': forwarded = forwarded === undefined ? value : `${forwarded}, ${value}`; break;
      case 'x-forwarded-for': xff = xff === undefined ? value : `${xff}, ${value}`; break;
      case 'x-forwarded-proto': xfp ??= value; break;
      case 'x-forwarded-host': xfh ??= value; break;
    }
  }
  // RFC 7239 wins where it is sent: it is the standard, and a proxy that sends it means it.
  if (forwarded !== undefined) return fromForwarded(forwarded, peer, trust);
  return {
    client: xff === undefined ? unmapped(peer) : clientOf(splitList(xff), peer, trust),
    proto: protoOf(xfp === undefined ? undefined : splitList(xfp)[0]),
    host: hostOf(xfh === undefined ? undefined : splitList(xfh)[0]),
  };
}

function fromForwarded(value: string, peer: string, trust: TrustList): ForwardedView {
  const hops: string[] = [];
  let proto: ForwardedView['proto'] = null;
  let host: string | null = null;
  for (const element of splitList(value)) {
    const pairs: string[] = [];
    if (scanParameters(`;${element}`, 0, pairs) < 0) break; // malformed: believe nothing from here on
    for (let i = 0; i < pairs.length; i += 2) {
      if (pairs[i] === 'for') hops.push(nodeAddress(pairs[i + 1]));
      else if (pairs[i] === 'proto' && hops.length <= 1) proto ??= protoOf(pairs[i + 1]);
      else if (pairs[i] === 'host' && hops.length <= 1) host ??= hostOf(pairs[i + 1]);
    }
  }
  return { client: clientOf(hops, peer, trust), proto, host };
}

/** RFC 7239 §6: a node is an address, "[v6]", either with ":port", or "unknown" / an obfuscated "_name". */
function nodeAddress(node: string): string {
  if (node.startsWith('[')) {
    const end = node.indexOf(']');
    return end < 0 ? node : node.slice(1, end);
  }
  const colon = node.indexOf(':');
  return colon >= 0 && node.indexOf(':', colon + 1) < 0 ? node.slice(0, colon) : node;
}

/** From the right, past every trusted hop; the first one that is not trusted (or not an address at all) is the client. */
function clientOf(hops: string[], peer: string, trust: TrustList): string {
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = trimOws(hops[i]);
    if (isIP(hop) === 0 || !trust.has(hop)) return hop === '' ? unmapped(peer) : hop;
  }
  return hops.length === 0 ? unmapped(peer) : trimOws(hops[0]);
}

function protoOf(value: string | undefined): ForwardedView['proto'] {
  const proto = value?.trim().toLowerCase();
  return proto === 'http' || proto === 'https' ? proto : null;
}

function hostOf(value: string | undefined): string | null {
  const host = value?.trim();
  return host !== undefined && host !== '' && isValidAuthority(host) ? host : null;
}
