import type { RequestHandler } from 'express';
import { type GraphQLSchema, parse } from 'graphql';
import { directiveProblem, GRAPHQL_LIMITS } from '../graphql/limits';

/** Queries up to this long that passed are remembered, so a client's usual queries are parsed here once. */
const REMEMBER_UP_TO_CHARS = 2000;
const REMEMBER_MAX = 1000;

/**
 * Refuses, with one error, a query whose directives are piled up or repeated at one location,
 * before Apollo's validation runs: graphql-js would report every repetition (and every unknown
 * directive) on its own, so a short query could make the server build and send a hundred errors,
 * and Apollo's hooks cannot refuse before its validation. Anything that does not parse goes on to
 * Apollo, which reports it as usual.
 */
export function directiveGuard(schema: GraphQLSchema, max = GRAPHQL_LIMITS.maxDirectivesPerLocation): RequestHandler {
  const passed = new Set<string>();
  return (req, res, next) => {
    const body: unknown = req.body;
    const fromBody = typeof body === 'object' && body !== null ? (body as Record<string, unknown>)['query'] : undefined;
    const query = req.method === 'GET' ? req.query['query'] : fromBody;
    if (typeof query !== 'string' || passed.has(query)) {
      next();
      return;
    }
    let problem: string | undefined;
    try {
      problem = directiveProblem(parse(query, { maxLexicalTokens: GRAPHQL_LIMITS.maxTokens }), schema, max);
    } catch {
      next(); // a syntax error or a document over the token limit: Apollo answers it
      return;
    }
    if (problem === undefined) {
      if (query.length <= REMEMBER_UP_TO_CHARS) {
        if (passed.size >= REMEMBER_MAX) passed.clear();
        passed.add(query);
      }
      next();
      return;
    }
    res.status(400).json({ errors: [{ message: problem, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } }] });
  };
}
