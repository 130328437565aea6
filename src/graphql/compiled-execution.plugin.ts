import { HeaderMap, type ApolloServerPlugin, type GraphQLResponse } from '@apollo/server';
import {
  type DocumentNode,
  type ExecutionResult,
  type FormattedExecutionResult,
  type GraphQLError,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  OperationTypeNode,
} from 'graphql';
import { compileQuery, isCompiledQuery, type CompiledQuery } from 'graphql-jit';
import type { Context } from '../context';
import type { Logger } from '../logger';
import { logUnexpectedErrors } from './error-logging.plugin';

/** Compiled operations kept at most; the least recently run goes first. */
const MAX_COMPILED = 500;

/** An operation graphql-jit refused to compile: Apollo runs it, every time. */
const NOT_COMPILED = Symbol('not compiled');

type Compiled = CompiledQuery | typeof NOT_COMPILED;

export interface CompiledExecutionOptions {
  readonly schema: GraphQLSchema;
  /** The formatError given to ApolloServer: compiled answers format their errors with it, as Apollo does. */
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly logger: Logger;
  readonly maxCompiled?: number;
  /**
   * Told of each query that ran compiled without variables: its text answers the same way every time
   * (ReusedQueries serves it from then on without Apollo's pipeline).
   */
  readonly ranCompiled?: (
    query: string,
    operationName: string | undefined,
    compiled: CompiledQuery,
    operation: OperationDefinitionNode,
  ) => void;
}

/**
 * Apollo's own error normalisation (errorNormalize.ts, not exported): the code defaults to
 * INTERNAL_SERVER_ERROR, `extensions.http` goes into the response head instead of the body, then
 * the server's formatError, and a formatError that throws gives a masked error. Stack traces are
 * never included (includeStacktraceInErrorResponses is off in createApp).
 */
export function formatLikeApollo(
  errors: readonly GraphQLError[],
  formatError: CompiledExecutionOptions['formatError'],
): { formatted: GraphQLFormattedError[]; status: number | undefined; headers: HeaderMap } {
  let status: number | undefined;
  const headers = new HeaderMap();
  const formatted = errors.map((error) => {
    // graphql-jit's errors skip GraphQLError's constructor: without extensions of their own, they have none.
    const own = error.extensions as Record<string, unknown> | undefined;
    const extensions: Record<string, unknown> = { ...own, code: own?.['code'] ?? 'INTERNAL_SERVER_ERROR' };
    const http = extensions['http'] as { status?: unknown; headers?: unknown } | undefined;
    if (http && typeof http === 'object') {
      if (typeof http.status === 'number') status = http.status;
      if (http.headers instanceof Map) for (const [name, value] of http.headers as Map<string, string>) headers.set(name, value);
      delete extensions['http'];
    }
    try {
      return formatError({ ...error.toJSON(), extensions }, error);
    } catch {
      return { message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } };
    }
  });
  return { formatted, status, headers };
}

/**
 * Runs queries that Apollo has seen before with graphql-jit instead of graphql-js (about three
 * times less CPU per `me`). Apollo still parses, validates (every limit), resolves the operation,
 * runs the cost limit and caches the document; this hook (`responseForOperation`) only replaces
 * execution, and only for:
 *
 * - queries: mutations run through graphql-js, once, in order, as always;
 * - documents Apollo already reused (its document cache hands back the same DocumentNode): the first
 *   run of a document goes through graphql-js, the second compiles it (compiling costs more than a
 *   run, and a one-off query would never repay it).
 *
 * A compiled run answers exactly what Apollo's execution would: its errors go through the same
 * normalisation and formatError (paths, locations, masking), and unexpected ones are logged with the
 * request id as errorLoggingPlugin does (the only didEncounterErrors hook of the app, which Apollo does
 * not call for a plugin's response). Variables that do not fit their types stop a run before any
 * resolver: those requests are handed back to Apollo, whose graphql-js messages are the contract.
 * So no resolver ever runs twice.
 */
export function compiledExecutionPlugin(options: CompiledExecutionOptions): ApolloServerPlugin<Context> {
  const { schema, formatError, logger, ranCompiled } = options;
  const maxCompiled = options.maxCompiled ?? MAX_COMPILED;
  /** Documents run once by graphql-js; weak, so it lives no longer than Apollo's document cache. */
  const seenOnce = new WeakSet<DocumentNode>();
  /** Per document, per operation name. Insertion order is recency: a hit moves its document last. */
  const compiled = new Map<DocumentNode, Map<string, Compiled>>();

  function compile(document: DocumentNode, operationName: string | undefined): Compiled {
    const result = compileQuery(schema, document, operationName, { disablingCapturingStackErrors: true });
    if (!isCompiledQuery(result)) {
      logger.warn({ operationName, errors: result.errors?.map((e) => e.message) }, 'graphql-jit could not compile an operation');
      return NOT_COMPILED;
    }
    logger.debug({ operationName }, 'graphql operation compiled');
    return result;
  }

  /** The compiled operation, compiled now if the document was seen before; undefined on its first run. */
  function compiledFor(document: DocumentNode, operationName: string | undefined): Compiled | undefined {
    const key = operationName ?? '';
    const byOperation = compiled.get(document);
    if (byOperation) {
      compiled.delete(document);
      compiled.set(document, byOperation);
      const found = byOperation.get(key);
      if (found !== undefined) return found;
    } else if (!seenOnce.has(document)) {
      seenOnce.add(document);
      return undefined;
    }
    const made = compile(document, operationName);
    compiled.set(document, (byOperation ?? new Map<string, Compiled>()).set(key, made));
    if (compiled.size > maxCompiled) {
      const oldest = compiled.keys().next();
      if (!oldest.done) compiled.delete(oldest.value);
    }
    return made;
  }

  return {
    async requestDidStart() {
      return {
        async responseForOperation({ document, operation, operationName, request, contextValue }): Promise<GraphQLResponse | null> {
          // No operation of that name (Apollo's types say otherwise): Apollo's execution refuses it.
          if ((operation as OperationDefinitionNode | undefined)?.operation !== OperationTypeNode.QUERY) return null;
          const query = compiledFor(document, request.operationName);
          if (query === undefined || query === NOT_COMPILED) return null;
          const result = (await query.query(undefined, contextValue, request.variables ?? {})) as ExecutionResult;
          const { requestId } = contextValue;
          if (result.data === undefined) {
            logger.trace({ requestId, operationName }, 'graphql compiled run handed back to Apollo');
            return null;
          }
          logger.trace({ requestId, operationName }, 'graphql operation ran compiled');
          if (
            ranCompiled &&
            typeof request.query === 'string' &&
            !operation.variableDefinitions?.length &&
            request.extensions === undefined
          ) {
            ranCompiled(request.query, request.operationName, query, operation);
          }
          const errors = result.errors;
          if (!errors?.length) {
            return { http: { status: undefined, headers: new HeaderMap() }, body: { kind: 'single', singleResult: { data: result.data } } };
          }
          logUnexpectedErrors(logger, errors, requestId, operationName);
          const { formatted, status, headers } = formatLikeApollo(errors, formatError);
          const singleResult: FormattedExecutionResult = { data: result.data, errors: formatted };
          return { http: { status, headers }, body: { kind: 'single', singleResult } };
        },
      };
    },
  };
}
