import type { Request, RequestHandler, Response } from 'express';
import type { ExecutionResult, FormattedExecutionResult, GraphQLFormattedError, OperationDefinitionNode } from 'graphql';
import type { CompiledQuery } from 'graphql-jit';
import Negotiator from 'negotiator';
import type { Context } from '../context';
import type { Logger } from '../logger';
import { formatLikeApollo } from './compiled-execution.plugin';
import { logUnexpectedErrors } from './error-logging.plugin';
import type { OperationsInFlight } from './operations-in-flight.plugin';
import { overloadRetryAfter } from './overload-status.plugin';
import type { RequestMetrics } from './request-metrics.plugin';

/** Query texts kept at most, and their characters in all; the least recently answered goes first. */
const MAX_QUERIES = 500;
const MAX_CHARS = 1024 * 1024;
/** Accept headers whose negotiated content type is kept. */
const MAX_ACCEPT = 64;

/** Apollo's media types for a single result (ApolloServer.ts MEDIA_TYPES), in its order of preference. */
const APPLICATION_JSON = 'application/json; charset=utf-8';
const SINGLE_RESULT_TYPES = [
  APPLICATION_JSON,
  'application/graphql-response+json; charset=utf-8',
  'application/json; callbackSpec=1.0; charset=utf-8',
];

interface ReusedQuery {
  readonly compiled: CompiledQuery;
  readonly operation: OperationDefinitionNode;
  readonly label: string;
}

interface ReusedText {
  readonly byName: Map<string, ReusedQuery>;
  /** When it was last answered (or remembered), on the instance's own clock: the least recent goes first. */
  used: number;
}

export interface ReusedQueriesOptions {
  /** The context function given to Apollo's handler: the same context, built the same way. */
  readonly context: (args: { req: Request; res: Response }) => Promise<Context>;
  readonly formatError: (formatted: GraphQLFormattedError, error: unknown) => GraphQLFormattedError;
  readonly logger: Logger;
  readonly operations: OperationsInFlight;
  readonly metrics: RequestMetrics;
  /** operationLabel of an operation, for the metrics and the access log. */
  readonly label: (operation: OperationDefinitionNode) => string;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isEmptyRecord(value: Record<string, unknown>): boolean {
  for (const key in value) if (Object.hasOwn(value, key)) return false;
  return true;
}

/**
 * Answers again, without Apollo's request pipeline, a query Apollo has already run compiled: same
 * text, same operation name, no variables, no extensions. Its answer can only differ by what its
 * resolvers return, never by parsing, validation or a limit: the document, its validation (every
 * limit but cost) and its operation are fixed by the text, and the cost of an operation without
 * variables is a constant Apollo has already checked. So the compiled query runs at once, with the
 * context Apollo's handler would build, and the answer is written as Apollo writes it: same body
 * bytes (errors normalised, formatted and logged as the compiled path does), status, `Retry-After`
 * of an overload refusal, content type negotiated from `Accept`; the operation is counted in flight,
 * in the metrics and in the access log. Anything else (the first two runs of a text, mutations,
 * variables, GET, batches, unusual bodies) goes on to Apollo.
 *
 * About 70 µs of CPU less per request than Apollo's pipeline (docs/performance.md, the CPU ladder):
 * a query hash, a dozen awaited plugin hooks, the context's copy and the response's head.
 */
export class ReusedQueries {
  /**
   * By query text, then by operation name ('' for none). A hit only stamps its entry (`used`): it
   * never deletes and re-inserts it, which would make the Map rehash every few hundred requests
   * into a new table in the old generation (an old Map's tables are allocated there).
   */
  private readonly queries = new Map<string, ReusedText>();
  private clock = 0;
  private chars = 0;
  private readonly contentTypes = new Map<string, string | null>();

  constructor(private readonly options: ReusedQueriesOptions) {}

  /** Called by the compiled-execution plugin once a query without variables ran compiled. */
  remember(query: string, operationName: string | undefined, compiled: CompiledQuery, operation: OperationDefinitionNode): void {
    if (query.length > MAX_CHARS / 8) return;
    let text = this.queries.get(query);
    if (!text) {
      text = { byName: new Map(), used: ++this.clock };
      this.queries.set(query, text);
      this.chars += query.length;
    }
    text.byName.set(operationName ?? '', { compiled, operation, label: this.options.label(operation) });
    while (this.queries.size > MAX_QUERIES || this.chars > MAX_CHARS) this.forgetLeastRecentlyUsed();
  }

  private forgetLeastRecentlyUsed(): void {
    let oldest: string | undefined;
    let oldestUse = Infinity;
    for (const [query, { used }] of this.queries) {
      if (used < oldestUse) {
        oldest = query;
        oldestUse = used;
      }
    }
    if (oldest === undefined) return;
    this.queries.delete(oldest);
    this.chars -= oldest.length;
  }

  /** The number of query texts kept (tests). */
  get size(): number {
    return this.queries.size;
  }

  private lookup(query: string, operationName: string): ReusedQuery | undefined {
    const text = this.queries.get(query);
    const found = text?.byName.get(operationName);
    if (text && found) text.used = ++this.clock;
    return found;
  }

  /** Apollo's choice of content type for a single result (chooseContentTypeForSingleResultResponse); null: 406. */
  private contentTypeFor(accept: string | undefined): string | null {
    if (!accept) return APPLICATION_JSON;
    let type = this.contentTypes.get(accept);
    if (type === undefined) {
      type = new Negotiator({ headers: { accept } }).mediaType(SINGLE_RESULT_TYPES) ?? null;
      if (this.contentTypes.size >= MAX_ACCEPT) this.contentTypes.clear();
      this.contentTypes.set(accept, type);
    }
    return type;
  }

  /** Express middleware, just before Apollo's handler (after the JSON body, CORS and the limits on arrival). */
  handler(): RequestHandler {
    return (req, res, next) => {
      if (req.method !== 'POST' || this.queries.size === 0) {
        next();
        return;
      }
      const body: unknown = req.body;
      if (!isPlainRecord(body)) {
        next();
        return;
      }
      const { query, operationName, variables, extensions } = body;
      if (
        typeof query !== 'string' ||
        (operationName !== undefined && operationName !== null && typeof operationName !== 'string') ||
        (variables !== undefined && variables !== null && !(isPlainRecord(variables) && isEmptyRecord(variables))) ||
        extensions !== undefined
      ) {
        next();
        return;
      }
      const reused = this.lookup(query, operationName ?? '');
      const contentType = reused && this.contentTypeFor(req.headers.accept);
      if (!reused || !contentType) {
        next();
        return;
      }
      this.answer(reused, contentType, req, res).then((answered) => {
        if (!answered) next();
      }, next);
    };
  }

  /** False when no resolver ran and Apollo should answer instead. */
  private async answer(reused: ReusedQuery, contentType: string, req: Request, res: Response): Promise<boolean> {
    const { options } = this;
    let contextValue: Context;
    try {
      contextValue = await options.context({ req, res });
    } catch {
      // Apollo builds it again and answers the failure its own way ("Context creation failed").
      return false;
    }
    const end = options.operations.begin();
    let result: ExecutionResult;
    try {
      result = await reused.compiled.query(undefined, contextValue, {});
    } finally {
      end();
    }
    // graphql-jit stopped before any resolver (it does so only for variables, which these have none of).
    if (result.data === undefined) return false;
    const { requestId } = contextValue;
    const operationName = reused.operation.name?.value;
    options.logger.trace({ requestId, operationName, reused: true }, 'graphql operation ran compiled');
    let status = 200;
    let single: FormattedExecutionResult = { data: result.data };
    const errors = result.errors;
    if (errors?.length) {
      logUnexpectedErrors(options.logger, errors, requestId, operationName);
      const formatted = formatLikeApollo(errors, options.formatError);
      for (const [name, value] of formatted.headers) res.setHeader(name, value);
      if (formatted.status !== undefined) status = formatted.status;
      single = { errors: formatted.formatted, data: result.data };
      const retryAfter = overloadRetryAfter(single);
      if (retryAfter !== undefined) {
        status = 503;
        res.setHeader('retry-after', String(retryAfter));
      }
    }
    options.metrics.recordAnswer(reused.label, reused.operation, single, contextValue);
    // Apollo's prettyJSONStringify of orderExecutionResultFields: errors, then data.
    const text = `${JSON.stringify(single)}\n`;
    res.setHeader('content-type', contentType);
    res.setHeader('content-length', Buffer.byteLength(text));
    res.writeHead(status);
    res.end(text);
    return true;
  }
}
