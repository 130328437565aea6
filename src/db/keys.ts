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

/**
 * A Relay connection from a keyset query that fetched `first + 1` rows: the extra row only
 * tells whether another page follows.
 */
export function connectionFrom<T extends { readonly id: string }>(
  rows: readonly T[],
  first: number,
  totalCount: number,
): { edges: { cursor: string; node: T }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null }; totalCount: number } {
  const edges = rows.slice(0, first).map((node) => ({ cursor: encodeCursor(node.id), node }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges.at(-1)?.cursor ?? null }, totalCount };
}
