import { InvalidInput } from '../errors';

/** Primary keys are UUIDs; anything else from a client is refused before it reaches SQL. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Connection cursors are the row's time-ordered id, opaque to clients. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** The id behind an `after` cursor, or BAD_USER_INPUT on `after`. */
export function decodeCursor(cursor: string): string {
  const id = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!isUuid(id)) throw new InvalidInput({ after: 'is not a valid cursor' });
  return id;
}
