import { InMemoryLRUCache } from '@apollo/utils.keyvaluecache';
import type { DocumentNode } from 'graphql';

/**
 * Apollo's cache of parsed and validated documents, smaller than its default. Apollo weighs an entry
 * by the length of its JSON (30 MiB of that by default), but a parsed document also keeps its lexer
 * tokens through `loc`: some 7 KB of heap for a small query, so the default let anyone, signed in or
 * not, grow the heap by about 120 MiB with distinct queries (`npm run bench:heap`). 4 MiB of JSON
 * holds thousands of the documents real clients send, at under 30 MB of heap.
 */
export const DOCUMENT_STORE_MAX_JSON_BYTES = 4 * 1024 * 1024;

export function documentStore(): InMemoryLRUCache<DocumentNode> {
  return new InMemoryLRUCache<DocumentNode>({
    maxSize: DOCUMENT_STORE_MAX_JSON_BYTES,
    sizeCalculation: (document) => InMemoryLRUCache.sizeCalculation(document),
  });
}
