/**
 * `value`, or a failure naming `what` when it is missing (`undefined` or `null`): for an array
 * element, a map entry or a regular expression match a test relies on, instead of a non-null assertion.
 */
export function must<T>(value: T | null | undefined, what: string): T {
  if (value === undefined || value === null) throw new Error(`expected ${what}, found ${String(value)}`);
  return value;
}

/** `value` when it is a string, or a failure naming `what`: for a string read from a loosely typed response. */
export function mustBeString(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new Error(`expected ${what} to be a string, found ${JSON.stringify(value)}`);
  return value;
}
