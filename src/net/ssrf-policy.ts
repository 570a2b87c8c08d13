import ipaddr from 'ipaddr.js';

/**
 * Which network addresses the server may connect to on a caller's behalf. By default only
 * globally routable unicast addresses: a caller-supplied URL must never reach loopback, the
 * private networks, link-local (the cloud metadata address 169.254.169.254 lives there) or any
 * other special range, whatever spelling (IPv4-mapped IPv6, NAT64, 6to4) hides it. Operators (and
 * tests with loopback receivers) opt specific CIDRs or host names back in.
 */
export interface SsrfPolicyOptions {
  /** CIDRs ("127.0.0.1/32", "10.0.0.0/8", "::1/128") or single addresses that are allowed anyway. */
  allowCidrs?: readonly string[];
  /** Host names (exact, case-insensitive) whose resolved addresses are not checked. */
  allowHosts?: readonly string[];
}

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

function parseCidr(s: string): Cidr {
  const t = s.trim();
  if (t.includes('/')) return ipaddr.parseCIDR(t);
  const a = ipaddr.parse(t);
  return [a, a.kind() === 'ipv4' ? 32 : 128];
}

/** The IPv4 address an IPv6 transition form carries, when it carries one. */
function embeddedIpv4(a: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  const range = a.range();
  const b = a.toByteArray();
  if (range === 'ipv4Mapped' || range === 'rfc6145' || range === 'rfc6052')
    return new ipaddr.IPv4(b.slice(12, 16));
  if (range === '6to4') return new ipaddr.IPv4(b.slice(2, 6));
  return undefined;
}

export class SsrfPolicy {
  readonly #allowCidrs: Cidr[];
  readonly #allowHosts: Set<string>;

  constructor(options: SsrfPolicyOptions = {}) {
    this.#allowCidrs = (options.allowCidrs ?? []).filter((s) => s.trim() !== '').map(parseCidr);
    this.#allowHosts = new Set((options.allowHosts ?? []).map((h) => h.trim().toLowerCase()).filter(Boolean));
  }

  /** Parse a comma/space separated allow-list (config/env form) into CIDRs and host names. */
  static fromList(list: string | undefined): SsrfPolicy {
    const items = (list ?? '').split(/[\s,]+/).filter(Boolean);
    const allowCidrs: string[] = [];
    const allowHosts: string[] = [];
    for (const item of items) {
      const addr = item.split('/')[0] ?? '';
      if (ipaddr.isValid(addr)) allowCidrs.push(item);
      else allowHosts.push(item);
    }
    return new SsrfPolicy({ allowCidrs, allowHosts });
  }

  hostAllowListed(host: string): boolean {
    return this.#allowHosts.has(host.toLowerCase());
  }

  isAllowedAddress(address: string): boolean {
    if (!ipaddr.isValid(address)) return false;
    const parsed = ipaddr.parse(address);
    for (const [net, bits] of this.#allowCidrs) {
      if (parsed.kind() === net.kind() && parsed.match(net, bits)) return true;
      // An IPv4 allow-list entry also covers the same address in IPv4-mapped IPv6 form.
      if (parsed.kind() === 'ipv6' && net.kind() === 'ipv4') {
        const v4 = embeddedIpv4(parsed as ipaddr.IPv6);
        if (v4 && v4.match(net, bits)) return true;
      }
    }
    return isPublicUnicast(parsed);
  }
}

function isPublicUnicast(a: ipaddr.IPv4 | ipaddr.IPv6): boolean {
  if (a.kind() === 'ipv4') return a.range() === 'unicast';
  const v6 = a as ipaddr.IPv6;
  const v4 = embeddedIpv4(v6);
  if (v4) return v4.range() === 'unicast';
  return v6.range() === 'unicast';
}
