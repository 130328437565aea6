import type { ApolloServerPlugin } from '@apollo/server';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  type ASTNode,
  type DirectiveNode,
  type DocumentNode,
  getVariableValues,
  GraphQLError,
  type GraphQLSchema,
  type ParseOptions,
  type ValidationContext,
  type ValidationRule,
  visit,
} from 'graphql';
import { getComplexity, type ComplexityEstimator } from 'graphql-query-complexity';

/**
 * Limits on every GraphQL request, at least as strict as GraphQL Armor's defaults. The deepest
 * query the schema needs is `users { edges { node { id } } }` (depth 4); the introspection
 * query (`__schema`) is exempt from the depth limit so Apollo Sandbox works in development.
 */
export const GRAPHQL_LIMITS = Object.freeze({
  /** Lexical tokens per document, enforced by the parser: nothing larger is ever built into an AST. */
  maxTokens: 1000,
  /** Aliased fields per operation, fragments included; `__typename` aliases count too. */
  maxAliases: 15,
  /** Directives per operation, fragments included. */
  maxDirectives: 50,
  /** Nesting per operation; inline fragments and fragment spreads count as levels (Armor's default). */
  maxDepth: 6,
  /** Cost per operation: each field 1, and what a paginated field selects times its page size. */
  maxCost: 5000,
  /** Directives at one location (a field, a fragment spread, an operation); none repeated unless repeatable. */
  maxDirectivesPerLocation: 4,
  /** Validation stops after this many errors and adds one saying so: a bad query cannot ask for a long list. */
  maxValidationErrors: 5,
});

/** GraphQL Armor's rules throw unless told otherwise; thrown errors would escape validation as a 500. */
function reportInstead(context: ValidationContext | null, error: GraphQLError): void {
  const refusal = new GraphQLError(error.message.replace(/^Syntax Error: /, ''));
  if (!context) throw refusal;
  context.reportError(refusal);
}

const REJECTION = { exposeLimits: true, propagateOnRejection: false, onReject: [reportInstead] };

function limitExceeded(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'GRAPHQL_VALIDATION_FAILED', http: { status: 400 } } });
}

/**
 * A field taking `first` (a connection) returns up to that many items, so what it selects is
 * counted that many times: `first` as sent (variables included) or the argument's default.
 */
const pageSizeEstimator: ComplexityEstimator = ({ field, args, childComplexity }) => {
  const first = field.args.find((arg) => arg.name === 'first');
  if (!first) return 1 + childComplexity;
  const given: unknown = args['first'];
  const size = typeof given === 'number' ? given : typeof first.defaultValue === 'number' ? first.defaultValue : 1;
  return 1 + Math.max(size, 0) * childComplexity;
};

/**
 * The cost limit runs once the operation is known, because a page size often comes in a
 * variable (`users(first: $n)`), which validation rules cannot see.
 */
function costLimitPlugin(maxCost: number): ApolloServerPlugin {
  const estimators = [pageSizeEstimator];
  // Without variables an operation's cost never changes: computed once per parsed document
  // (Apollo reuses the DocumentNode of a query it has seen), not on every request.
  const constantCosts = new WeakMap<DocumentNode, Map<string, number>>();
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ schema, document, operation, request }) {
          // No operation to run (unknown or missing operationName): execution refuses the request.
          if (!operation) return;
          const variables = request.variables ?? {};
          const constant = !operation.variableDefinitions?.length;
          const operationKey = operation.name?.value ?? '';
          let cost = constant ? constantCosts.get(document)?.get(operationKey) : undefined;
          if (cost === undefined) {
            // Variables that do not fit their types: execution refuses them (BAD_USER_INPUT) and runs nothing.
            if (getVariableValues(schema, operation.variableDefinitions ?? [], variables).errors) return;
            try {
              cost = getComplexity({ schema, query: document, variables, operationName: operation.name?.value, estimators });
            } catch {
              // graphql-query-complexity stops at 10,000 evaluated nodes (fragments spread many times).
              throw limitExceeded(`Query cost limit of ${String(maxCost)} exceeded.`);
            }
            if (constant) {
              const byOperation = constantCosts.get(document) ?? new Map<string, number>();
              byOperation.set(operationKey, cost);
              constantCosts.set(document, byOperation);
            }
          }
          if (cost > maxCost) throw limitExceeded(`Query cost limit of ${String(maxCost)} exceeded, found ${String(cost)}.`);
        },
      };
    },
  };
}

/**
 * The first problem of the directives at any one location of a fresh document, or undefined: more
 * than `max` directives, or a non-repeatable directive twice. graphql-js would report each repetition
 * on its own (and each unknown directive again), so a short document could ask for a hundred errors.
 */
export function directiveProblem(document: DocumentNode, schema: GraphQLSchema, max: number): string | undefined {
  let problem: string | undefined;
  const check = (node: ASTNode & { readonly directives?: readonly DirectiveNode[] }): false | undefined => {
    const directives = node.directives ?? [];
    if (directives.length > max) {
      problem = `At most ${String(max)} directives are allowed at one location, found ${String(directives.length)}.`;
      return false;
    }
    const seen = new Set<string>();
    for (const { name } of directives) {
      if (seen.has(name.value) && schema.getDirective(name.value)?.isRepeatable !== true) {
        problem = `The directive "@${name.value}" is repeated at one location.`;
        return false;
      }
      seen.add(name.value);
    }
    return undefined;
  };
  // Returning false from a visitor stops the whole walk: the first problem is the only one reported.
  const stopAtProblem = { enter: check };
  visit(document, {
    OperationDefinition: stopAtProblem,
    Field: stopAtProblem,
    FragmentSpread: stopAtProblem,
    InlineFragment: stopAtProblem,
    FragmentDefinition: stopAtProblem,
    VariableDefinition: stopAtProblem,
  });
  return problem;
}

export interface GraphQLLimitOptions {
  readonly parseOptions: ParseOptions;
  readonly validationOptions: { readonly maxErrors: number };
  readonly validationRules: ValidationRule[];
  readonly plugins: ApolloServerPlugin[];
}

/**
 * Built once at start-up. The validation rules keep no state between requests; the cost plugin
 * remembers the cost of each parsed document without variables (a WeakMap keyed by the document
 * Apollo caches, so it lives no longer than Apollo's own document cache).
 */
export function graphqlLimits(limits = GRAPHQL_LIMITS): GraphQLLimitOptions {
  return {
    parseOptions: { maxLexicalTokens: limits.maxTokens },
    validationOptions: { maxErrors: limits.maxValidationErrors },
    validationRules: [
      maxAliasesRule({ n: limits.maxAliases, allowList: [], ...REJECTION }),
      maxDirectivesRule({ n: limits.maxDirectives, ...REJECTION }),
      maxDepthRule({ n: limits.maxDepth, ignoreIntrospection: true, flattenFragments: false, ...REJECTION }),
    ],
    plugins: [costLimitPlugin(limits.maxCost)],
  };
}
