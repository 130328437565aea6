import { unwrapResolverError } from '@apollo/server/errors';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { ArgumentValidationError, AuthenticationError, AuthorizationError } from 'type-graphql';
import { isDatabaseUnavailable } from '../db/database-unavailable';
import { AppError, AUTH_MESSAGES, AuthReason, ErrorCode } from '../errors';
import { validationFields } from '../validation/fields';

const FORBIDDEN_MESSAGE = 'You are not allowed to do this';

const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

const VARIABLE_ERROR = /^Variable "\$(\w+)" got invalid value /;
const SAFE_EXPLANATION =
  /^(Field "\w+"( of required type "[\w![\]]+")? (is not defined by type "\w+"|was not provided)|Expected type "[\w![\]]+"[^"]*)\.$/;

/**
 * graphql-js echoes the whole rejected variable (a password included) in its message.
 * Clients get the variable's name and, when it carries no value, graphql-js's reason.
 */
function variableError(name: string, message: string): { message: string; extensions: Record<string, unknown> } {
  const reason = message.slice(message.lastIndexOf('; ') + 2);
  const explanation = SAFE_EXPLANATION.test(reason) ? reason : 'The value does not match its type.';
  return {
    message: `Variable "$${name}" got an invalid value. ${explanation}`,
    extensions: { code: ErrorCode.BAD_USER_INPUT, fields: { [name]: explanation } },
  };
}

/** The client-facing shape of an error, or undefined when it is unexpected and must be masked. */
function knownError(error: unknown): { message: string; extensions: Record<string, unknown> } | undefined {
  const original = unwrapResolverError(error);
  if (original instanceof AppError) {
    return { message: original.message, extensions: { code: original.code, ...original.extensions() } };
  }
  if (original instanceof ArgumentValidationError) {
    return {
      message: 'Invalid input',
      extensions: { code: ErrorCode.BAD_USER_INPUT, fields: validationFields(original.extensions.validationErrors) },
    };
  }
  if (original instanceof AuthorizationError) {
    return { message: FORBIDDEN_MESSAGE, extensions: { code: ErrorCode.FORBIDDEN } };
  }
  if (original instanceof AuthenticationError) {
    return {
      message: AUTH_MESSAGES.TOKEN_MISSING,
      extensions: { code: ErrorCode.UNAUTHENTICATED, reason: AuthReason.TOKEN_MISSING },
    };
  }
  // graphql-js and Apollo report malformed requests (syntax, unknown fields, bad variables)
  // as GraphQLErrors that never reached a resolver; their messages are meant for clients.
  // Apollo's wrappers keep graphql-js's own GraphQLError as originalError.
  if (original instanceof GraphQLError && (!(original.originalError instanceof Error) || original.originalError instanceof GraphQLError)) {
    const code = original.extensions['code'];
    if (typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) {
      const variable = VARIABLE_ERROR.exec(original.message)?.[1];
      if (variable !== undefined) return variableError(variable, original.message);
      return { message: original.message, extensions: { code } };
    }
  }
  return undefined;
}

/** True when an error is not one of ours and must be logged (with the request id) and masked. */
export function isUnexpectedError(error: unknown): boolean {
  return knownError(error) === undefined;
}

const DATABASE_UNAVAILABLE_MESSAGE = 'The service is temporarily unavailable; try again shortly';

/** The one place where errors become GraphQL errors; everything unknown is masked. */
export function formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError {
  const known = knownError(error);
  const where = { locations: formatted.locations, path: formatted.path };
  if (known) return { ...known, ...where };
  // Still unexpected (logged with the request id, masked), but the honest answer is "try again".
  if (isDatabaseUnavailable(error)) {
    return { message: DATABASE_UNAVAILABLE_MESSAGE, ...where, extensions: { code: ErrorCode.SERVICE_UNAVAILABLE } };
  }
  return { message: 'Internal server error', ...where, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } };
}
