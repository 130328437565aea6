import { isIP } from 'node:net';

/** Longest textual IP address (an IPv4-mapped IPv6 address): the width of every `ip` column. */
export const IP_MAX_LENGTH = 45;
/** User agents are stored cut to this many characters. */
export const USER_AGENT_MAX_LENGTH = 512;

/** Who is calling, as far as the request tells: kept with sessions and audit events. */
export interface ClientInfo {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

/**
 * The client of a request, as the columns hold it. Behind a trusted proxy the address comes from
 * X-Forwarded-For, which may hold anything: what is not an IP address is not kept.
 */
export function clientInfo(ip: string | undefined, userAgent: string | undefined): ClientInfo {
  const address = ip !== undefined && isIP(ip) !== 0 && ip.length <= IP_MAX_LENGTH ? ip : null;
  return { ip: address, userAgent: userAgent?.replaceAll('\u0000', '').slice(0, USER_AGENT_MAX_LENGTH) ?? null };
}
