// The PROXY protocol (HAProxy's proxy-protocol.txt, versions 1 and 2), as a
// load balancer that passes TCP through (HAProxy `send-proxy`, nginx
// `proxy_protocol on`, AWS NLB) sends it: one header before the client's
// first byte, naming the client's address. Parsed strictly, and believed
// only from trusted peers (--trust-proxy):
//
//   trusted peer     a valid header is required: its source address is the client's
//   untrusted peer   a header is refused (the connection closed); anything else is served as usual
//   malformed, missing where required, or not whole within the header timeout: the connection is closed
import { isIP, type Socket } from 'node:net';
import { AwaitedSocket } from './awaited-socket.js';

/** v1: "PROXY " ... CRLF, at most 107 bytes in all */
const V1_PREFIX = Buffer.from('PROXY ', 'latin1');
const V1_MAX_BYTES = 107;
/** v2: a 12-byte signature, version and command, family and protocol, a 16-bit length */
const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V2_HEAD_BYTES = 16;
/** addresses and TLVs past this are not a header any load balancer sends */
const V2_MAX_LENGTH = 4096;

export type ProxyHeader =
  | { kind: 'none' } // the bytes do not begin a PROXY header
  | { kind: 'more' } // they may: read on
  | { kind: 'bad'; reason: string }
  /** `source` null: LOCAL, UNKNOWN or a family without an IP address; the peer is the client */
  | { kind: 'header'; length: number; source: string | null };

/** Reads a PROXY header at the start of `bytes`. */
export function parseProxyHeader(bytes: Buffer): ProxyHeader {
  if (startsLike(bytes, V1_PREFIX)) return bytes.length < V1_PREFIX.length ? { kind: 'more' } : parseV1(bytes);
  if (startsLike(bytes, V2_SIGNATURE)) return bytes.length < V2_HEAD_BYTES ? { kind: 'more' } : parseV2(bytes);
  return { kind: 'none' };
}

/** Whether bytes and prefix agree over the shorter of the two. */
function startsLike(bytes: Buffer, prefix: Buffer): boolean {
  const n = Math.min(bytes.length, prefix.length);
  return n > 0 && bytes.subarray(0, n).equals(prefix.subarray(0, n));
}

function parseV1(bytes: Buffer): ProxyHeader {
  const end = bytes.indexOf('\r\n', 0, 'latin1');
  if (end < 0) return bytes.length >= V1_MAX_BYTES ? { kind: 'bad', reason: 'a v1 header longer than 107 bytes' } : { kind: 'more' };
  if (end + 2 > V1_MAX_BYTES) return { kind: 'bad', reason: 'a v1 header longer than 107 bytes' };
  const line = bytes.toString('latin1', 0, end);
  const fields = line.split(' ');
  if (fields[1] === 'UNKNOWN') return { kind: 'header', length: end + 2, source: null };
  if (fields.length !== 6 || (fields[1] !== 'TCP4' && fields[1] !== 'TCP6')) return { kind: 'bad', reason: `a malformed v1 header: ${JSON.stringify(line)}` };
  const family = fields[1] === 'TCP4' ? 4 : 6;
  const [, , source, destination, sourcePort, destinationPort] = fields;
  if (isIP(source) !== family || isIP(destination) !== family || !isPort(sourcePort) || !isPort(destinationPort)) {
    return { kind: 'bad', reason: `a malformed v1 header: ${JSON.stringify(line)}` };
  }
  return { kind: 'header', length: end + 2, source };
}

/** 0 to 65535 in decimal, no sign and no leading zero. */
function isPort(text: string): boolean {
  return /^(0|[1-9][0-9]{0,4})$/.test(text) && Number(text) <= 65535;
}

function parseV2(bytes: Buffer): ProxyHeader {
  const versionCommand = bytes[12];
  if (versionCommand >> 4 !== 2) return { kind: 'bad', reason: `a v2 header of version ${versionCommand >> 4}` };
  const command = versionCommand & 0x0f;
  if (command > 1) return { kind: 'bad', reason: `a v2 header with command ${command}` };
  const familyProtocol = bytes[13];
  const length = bytes.readUInt16BE(14);
  if (length > V2_MAX_LENGTH) return { kind: 'bad', reason: `a v2 header of ${length} bytes` };
  if (bytes.length < V2_HEAD_BYTES + length) return { kind: 'more' };
  const total = V2_HEAD_BYTES + length;
  if (command === 0) return { kind: 'header', length: total, source: null }; // LOCAL: the proxy's own connection (a health check)
  const family = familyProtocol >> 4;
  const protocol = familyProtocol & 0x0f;
  if (family > 3 || protocol > 2) return { kind: 'bad', reason: `a v2 header with family and protocol 0x${familyProtocol.toString(16)}` };
  if (family === 1) {
    if (length < 12) return { kind: 'bad', reason: 'a v2 IPv4 header too short for its addresses' };
    return { kind: 'header', length: total, source: `${bytes[16]}.${bytes[17]}.${bytes[18]}.${bytes[19]}` };
  }
  if (family === 2) {
    if (length < 36) return { kind: 'bad', reason: 'a v2 IPv6 header too short for its addresses' };
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(bytes.readUInt16BE(16 + i * 2).toString(16));
    return { kind: 'header', length: total, source: new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1) };
  }
  return { kind: 'header', length: total, source: null }; // UNSPEC or a Unix socket: no IP address
}

/**
 * An accepted socket whose PROXY header is awaited: reads until the header
 * is whole (or is known to be absent), puts back what follows it, and hands
 * the socket on with the client's address. Closes it on a bad, missing
 * (from a trusted peer) or refused (from an untrusted one) header, or when
 * timeoutMs passes first.
 */
export class ProxyHeaderReader extends AwaitedSocket {
  #buffered: Buffer = Buffer.alloc(0);

  constructor(socket: Socket, isTrusted: boolean, timeoutMs: number, onReady: (clientAddress: string | null) => void, onRefused: (reason: string) => void) {
    super(socket, timeoutMs);
    const onData = (chunk: Buffer): void => {
      this.#buffered = this.#buffered.length === 0 ? chunk : Buffer.concat([this.#buffered, chunk]);
      const header = parseProxyHeader(this.#buffered);
      if (header.kind === 'more') return;
      socket.off('data', onData);
      this.settle();
      const refusal = header.kind === 'bad' ? header.reason
        : header.kind === 'none' && isTrusted ? 'a trusted peer sent no PROXY header'
          : header.kind === 'header' && !isTrusted ? 'an untrusted peer sent a PROXY header' : null;
      if (refusal !== null) {
        onRefused(refusal);
        socket.destroy();
        return;
      }
      socket.pause();
      const rest = header.kind === 'header' ? this.#buffered.subarray(header.length) : this.#buffered;
      if (rest.length > 0) socket.unshift(rest);
      this.#buffered = Buffer.alloc(0);
      onReady(header.kind === 'header' ? header.source : null);
    };
    socket.on('data', onData);
  }
}
