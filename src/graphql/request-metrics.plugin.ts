import type { ApolloServerPlugin, GraphQLRequestContextWillSendResponse, GraphQLRequestListener } from '@apollo/server';
import type { Request, Response } from 'express';
import {
  Kind,
  OperationTypeNode,
  type FormattedExecutionResult,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import type { Context } from '../context';
import { AuthReason, ErrorCode } from '../errors';
import type { Metrics } from '../metrics/metrics';

/** The root fields that sign in, and the method each stands for in `auth_api_logins_total`. */
const LOGIN_METHODS: Readonly<Record<string, string>> = { login: 'password', verifyMfa: 'mfa', finishPasskeyLogin: 'passkey' };

/** Codes a response can carry: this service's and Apollo's own. Anything else counts as OTHER. */
const KNOWN_CODES: ReadonlySet<string> = new Set<string>([
  ...Object.values(ErrorCode),
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
]);
const KNOWN_REASONS: ReadonlySet<string> = new Set<string>(Object.values(AuthReason));

/** Introspection's root fields, which no root type lists. */
const INTROSPECTION_FIELDS: ReadonlySet<string> = new Set(['__schema', '__type']);

/** What the access log reads of a GraphQL request once it is answered. */
export interface OperationSeen {
  /** The root field (`me`, `login`), `multiple`, `none` (nothing executable) or `other`: a bounded set. */
  readonly operation: string;
  /** The client's own operation name, when it gave one (an executable document's name: letters, digits, `_`). */
  readonly operationName: string | undefined;
}

const SEEN = 'graphqlOperation';
const RESPONSE_LOCALS = Symbol('responseLocals');

/** What the GraphQL plugin recorded for this response, if the request reached GraphQL. */
export function operationSeen(res: Response): OperationSeen | undefined {
  return res.locals[SEEN] as OperationSeen | undefined;
}

/**
 * The operation's label from the schema's own names, so that clients cannot grow the label set:
 * the one root field it selects (aliases and repeats of it included), `multiple` for several,
 * `other` for a root fragment or a name the schema lacks, `none` when no operation was resolved
 * (a parse or validation failure).
 */
export function operationLabel(operation: OperationDefinitionNode | undefined, schema: GraphQLSchema): string {
  if (!operation) return 'none';
  let field: string | undefined;
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return 'other';
    const name = selection.name.value;
    if (name === '__typename') continue;
    if (field === undefined) field = name;
    else if (field !== name) return 'multiple';
  }
  if (field === undefined) return 'none';
  if (INTROSPECTION_FIELDS.has(field)) return field;
  const root = schema.getRootType(operation.operation);
  return root?.getFields()[field] ? field : 'other';
}

function codeOf(error: GraphQLFormattedError | undefined): string {
  const code = error?.extensions?.['code'];
  return typeof code === 'string' && KNOWN_CODES.has(code) ? code : 'OTHER';
}

/** `success`, or the refusal's reason (`invalid_credentials`, `mfa_required`) or else its code, in lower case. */
function loginOutcome(error: GraphQLFormattedError | undefined, value: unknown): string {
  if (!error) return value === null || value === undefined ? 'other' : 'success';
  const reason = error.extensions?.['reason'];
  if (typeof reason === 'string' && KNOWN_REASONS.has(reason)) return reason.toLowerCase();
  return codeOf(error).toLowerCase();
}

/**
 * Counts GraphQL requests (by operation and outcome code) and sign-ins (by method and outcome), and
 * leaves the operation on the response for the access log. One listener object serves every
 * request; its only hook runs once the response is ready.
 */
export class RequestMetrics {
  constructor(private readonly metrics: Metrics | undefined) {}

  /**
   * Wraps the context function: each context carries its response's `locals` under a symbol.
   * Apollo shallow-copies the context for each operation (own enumerable keys, symbols included),
   * so the copy the plugin sees carries them too, where a map keyed by the context would miss.
   */
  context(build: (args: { req: Request; res: Response }) => Promise<Context>) {
    return async (args: { req: Request; res: Response }): Promise<Context> =>
      Object.assign(await build(args), { [RESPONSE_LOCALS]: args.res.locals });
  }

  plugin(): ApolloServerPlugin<Context> {
    const listener: GraphQLRequestListener<Context> = {
      willSendResponse: async (requestContext) => {
        this.record(requestContext);
      },
    };
    return { requestDidStart: async () => listener };
  }

  private record({ operation, schema, response, contextValue }: GraphQLRequestContextWillSendResponse<Context>): void {
    const result = response.body.kind === 'single' ? response.body.singleResult : undefined;
    this.recordAnswer(operationLabel(operation, schema), operation, result, contextValue);
  }

  /**
   * Records one answer: the operation seen (for the access log) and its counts. `label` is
   * operationLabel's for `operation`; `result` undefined for a streamed answer.
   */
  recordAnswer(
    label: string,
    operation: OperationDefinitionNode | undefined,
    result: FormattedExecutionResult | undefined,
    contextValue: Context,
  ): void {
    const locals = (contextValue as Partial<Record<typeof RESPONSE_LOCALS, Record<string, unknown>>>)[RESPONSE_LOCALS];
    if (locals) locals[SEEN] = { operation: label, operationName: operation?.name?.value } satisfies OperationSeen;
    if (!this.metrics) return;
    const errors = result?.errors;
    this.metrics.graphqlRequests.inc({ operation: label, code: errors?.length ? codeOf(errors[0]) : 'OK' });
    if (operation?.operation !== OperationTypeNode.MUTATION) return;
    const data = result?.data;
    for (const selection of operation.selectionSet.selections) {
      if (selection.kind !== Kind.FIELD) continue;
      const method = LOGIN_METHODS[selection.name.value];
      if (method === undefined) continue;
      const key = selection.alias?.value ?? selection.name.value;
      // An error without a path (variables that failed to coerce) and no data refuses every field.
      const error = errors?.find((e) => e.path?.[0] === key) ?? (data ? undefined : errors?.[0]);
      this.metrics.logins.inc({ method, outcome: loginOutcome(error, data?.[key]) });
    }
  }
}
