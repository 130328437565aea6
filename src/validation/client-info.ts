/** Longest textual IP address (an IPv4-mapped IPv6 address): the width of every `ip` column. */
export const IP_MAX_LENGTH = 45;
/** User agents are stored cut to this many characters. */
export const USER_AGENT_MAX_LENGTH = 512;

/** Who is calling, as far as the request tells: kept with sessions and audit events. */
export interface ClientInfo {
  readonly ip: string | null;
  readonly userAgent: string | null;
}

/** The client of a request, cut to what the columns hold. */
export function clientInfo(ip: string | undefined, userAgent: string | undefined): ClientInfo {
  return { ip: ip?.slice(0, IP_MAX_LENGTH) ?? null, userAgent: userAgent?.slice(0, USER_AGENT_MAX_LENGTH) ?? null };
}
