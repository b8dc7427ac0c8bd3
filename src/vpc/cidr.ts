// IPv4 addresses and CIDR blocks as the VPC database stores them: dotted quads, no leading
// zeros (010.0.0.1 is octal to some parsers and decimal to others, so it is refused), and a
// CIDR's host bits must be zero (10.0.0.1/24 is a typo for 10.0.0.0/24 or 10.0.0.1/32).

export interface Cidr {
  /** The normalized text, e.g. "10.0.0.0/16". */
  text: string;
  /** Network address as an unsigned 32-bit number. */
  network: number;
  prefix: number;
}

const OCTET = /^(0|[1-9][0-9]{0,2})$/;

/** The address as an unsigned number, or an error message saying what is wrong with it. */
export function parseIpv4(s: string): number | string {
  const parts = s.split('.');
  if (parts.length !== 4) return `"${s}" is not an IPv4 address (want a.b.c.d)`;
  let n = 0;
  for (const p of parts) {
    if (!OCTET.test(p)) return `"${s}" is not an IPv4 address (octet "${p}")`;
    const v = Number(p);
    if (v > 255) return `"${s}" is not an IPv4 address (octet ${v} > 255)`;
    n = n * 256 + v;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
}

function mask(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** A CIDR block, or an error message. A bare address is not accepted: write /32. */
export function parseCidr(s: string): Cidr | string {
  const m = /^([^/]+)\/(0|[1-9][0-9]?)$/.exec(s);
  if (!m) return `"${s}" is not a CIDR block (want a.b.c.d/N)`;
  const addr = parseIpv4(m[1]!);
  if (typeof addr === 'string') return `"${s}" is not a CIDR block: ${addr}`;
  const prefix = Number(m[2]);
  if (prefix > 32) return `"${s}" is not a CIDR block (prefix ${prefix} > 32)`;
  const network = (addr & mask(prefix)) >>> 0;
  if (network !== addr) return `"${s}" has host bits set (did you mean ${formatIpv4(network)}/${prefix}?)`;
  return { text: `${formatIpv4(network)}/${prefix}`, network, prefix };
}

export function cidrContainsIp(c: Cidr, ip: number): boolean {
  return ((ip & mask(c.prefix)) >>> 0) === c.network;
}

/** The first and last addresses of a block (network and broadcast for prefixes up to /30). */
export function cidrBounds(c: Cidr): { first: number; last: number } {
  return { first: c.network, last: (c.network | (~mask(c.prefix) >>> 0)) >>> 0 };
}
