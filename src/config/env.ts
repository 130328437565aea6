import { isIP } from 'node:net';

/** Thrown when an environment variable holds a value the service cannot run with. */
export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

const DURATION_UNITS_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parses `2s`, `15m`, `1h`, `7d` (also `500ms`) into milliseconds. */
export function parseDuration(variable: string, raw: string, allowZero = false): number {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(raw.trim());
  const unit = match?.[2] === undefined ? undefined : DURATION_UNITS_MS[match[2]];
  if (!match?.[1] || unit === undefined) {
    throw new ConfigError(variable, `must be a duration such as 30s, 15m, 1h or 7d (got "${raw}")`);
  }
  const value = Number(match[1]) * unit;
  if ((value === 0 && !allowZero) || !Number.isSafeInteger(value)) {
    throw new ConfigError(variable, `must be a positive duration (got "${raw}")`);
  }
  return value;
}

export function parseInteger(variable: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw.trim())) {
    throw new ConfigError(variable, `must be a whole number between ${String(min)} and ${String(max)} (got "${raw}")`);
  }
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(variable, `must be between ${String(min)} and ${String(max)} (got ${String(value)})`);
  }
  return value;
}

/** A URL whose scheme is one of `protocols`, or a ConfigError showing `example`. */
export function parseUrl(variable: string, raw: string, protocols: readonly string[], example: string): URL {
  let url: URL | undefined;
  try {
    url = new URL(raw);
  } catch {
    url = undefined;
  }
  if (!url || !protocols.includes(url.protocol)) throw new ConfigError(variable, `must be a URL such as ${example}`);
  return url;
}

export function parseTrustProxy(raw: string | undefined): boolean | number | string {
  if (raw === undefined || raw.trim() === '' || raw.trim() === 'false') return false;
  const value = raw.trim();
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return parseInteger('TRUST_PROXY', value, 0, 100);
  const known = ['loopback', 'linklocal', 'uniquelocal'];
  for (const part of value.split(',').map((s) => s.trim())) {
    const [address, prefix] = part.split('/');
    const addressOk = known.includes(part) || isIP(address ?? '') !== 0;
    const prefixOk = prefix === undefined || /^\d{1,3}$/.test(prefix);
    if (!addressOk || !prefixOk) {
      throw new ConfigError('TRUST_PROXY', `must be true, false, a hop count, or a list of addresses/subnets (got "${part}")`);
    }
  }
  return value;
}

export function parseOrigins(variable: string, raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((origin) => {
      let url: URL;
      try {
        url = new URL(origin);
      } catch {
        throw new ConfigError(variable, `entry "${origin}" is not an origin such as https://app.example.com`);
      }
      if (origin === '*' || url.origin !== origin.replace(/\/$/, '')) {
        throw new ConfigError(variable, `entry "${origin}" is not an origin such as https://app.example.com`);
      }
      return url.origin;
    });
}

/** A signing secret of at least 32 bytes. */
export function parseSecret(variable: string, raw: string): Buffer {
  const secret = Buffer.from(raw, 'utf8');
  if (secret.length < 32) {
    throw new ConfigError(variable, `must be at least 32 bytes long (got ${String(secret.length)})`);
  }
  return secret;
}

/** One of `allowed`, or a ConfigError listing them. */
export function parseChoice<T extends string>(variable: string, raw: string, allowed: readonly T[]): T {
  const found = allowed.find((choice) => choice === raw);
  if (found === undefined) throw new ConfigError(variable, `must be one of ${allowed.join(', ')} (got "${raw}")`);
  return found;
}
