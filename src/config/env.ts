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

/** What a signing secret must hold at least: NIST's 112-bit security level. */
const SECRET_MIN_BITS = 112;

/**
 * An estimate of the bits in a secret from its characters alone: the Shannon entropy of their
 * distribution times the length. Random strings of the usual alphabets (base64, hex) come out
 * well above SECRET_MIN_BITS; a repeated character or a few alternating ones come out far below.
 */
function estimatedBits(text: string): number {
  const counts = new Map<string, number>();
  for (const char of text) counts.set(char, (counts.get(char) ?? 0) + 1);
  const length = [...counts.values()].reduce((sum, count) => sum + count, 0);
  let perChar = 0;
  for (const count of counts.values()) perChar -= (count / length) * Math.log2(count / length);
  return perChar * length;
}

/** True when the text is a shorter piece repeated (`abcabcabc...`): its characters may vary, its content does not. */
function isRepetition(text: string): boolean {
  for (let period = 1; period <= text.length / 2; period += 1) {
    let repeats = true;
    for (let index = period; index < text.length && repeats; index += 1) repeats = text[index] === text[index - period];
    if (repeats) return true;
  }
  return false;
}

/** A signing secret of at least 32 bytes that is not guessable from its shape. */
export function parseSecret(variable: string, raw: string): Buffer {
  const secret = Buffer.from(raw, 'utf8');
  if (secret.length < 32) {
    throw new ConfigError(variable, `must be at least 32 bytes long (got ${String(secret.length)})`);
  }
  if (isRepetition(raw) || estimatedBits(raw) < SECRET_MIN_BITS) {
    throw new ConfigError(variable, 'is too easy to guess: use 32 or more random bytes, e.g. `openssl rand -base64 48`');
  }
  return secret;
}

/** Edit distance (insertions, deletions, substitutions) between two short strings. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i += 1) {
    const current = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

/**
 * The known variable a name was probably meant to be, or undefined. Only upper-case names are
 * considered (npm's and most tools' own are lower-case), and only a small difference counts: one
 * edit for short names, two from ten characters on, so HOME is not taken for HOST.
 */
export function likelyMeant(name: string, known: Iterable<string>): string | undefined {
  if (known instanceof Set && known.has(name)) return undefined;
  if (!/^[A-Z][A-Z0-9_]{3,}$/.test(name)) return undefined;
  const allowed = name.length >= 10 ? 2 : 1;
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    if (candidate === name) return undefined;
    const distance = editDistance(name, candidate);
    if (distance <= allowed && (best === undefined || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/** One of `allowed`, or a ConfigError listing them. */
export function parseChoice<T extends string>(variable: string, raw: string, allowed: readonly T[]): T {
  const found = allowed.find((choice) => choice === raw);
  if (found === undefined) throw new ConfigError(variable, `must be one of ${allowed.join(', ')} (got "${raw}")`);
  return found;
}
