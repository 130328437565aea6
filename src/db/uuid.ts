import { v7 } from 'uuid';

/** Primary keys are UUIDs; anything else from a client is refused before it reaches SQL. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Time-ordered UUIDs (v7), made in the application so keyset pagination can sort by id. */
export function newId(): string {
  return v7();
}
