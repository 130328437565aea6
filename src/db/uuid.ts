import { v7 } from 'uuid';

/** Time-ordered UUIDs (v7), made in the application so keyset pagination can sort by id. */
export function newId(): string {
  return v7();
}
