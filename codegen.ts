// GraphQL Code Generator: typed documents for the example clients, from the committed schemas.
// `npm run codegen` writes each client's generated/ folder; `npm run codegen:check`
// (scripts/codegen-check.ts) regenerates, type-checks the example consumers and fails when the
// committed output is stale.
import type { CodegenConfig } from '@graphql-codegen/cli';

/** One example client: the schema it is generated from, its operations, its output and its consumers. */
export interface CodegenClient {
  readonly schema: string;
  readonly documents: readonly string[];
  /** The folder codegen writes (with a trailing slash, as the client preset wants). */
  readonly output: string;
  /** The folder of the TypeScript that uses the generated documents (the output folder excluded). */
  readonly consumers: string;
}

/** Every operation in examples/operations, typed against the whole schema. */
export const EXAMPLE_CLIENT: CodegenClient = {
  schema: 'schema.graphql',
  documents: ['examples/operations/**/*.graphql'],
  output: 'examples/generated/',
  consumers: 'examples/operations',
};

/**
 * An app for signed-in users, generated from schema.USER.graphql: an operation a USER may never run
 * (e.g. examples/operations/admin.graphql) fails its generation instead of failing at run time.
 */
export const USER_APP_CLIENT: CodegenClient = {
  schema: 'schema.USER.graphql',
  documents: ['examples/operations/auth.graphql', 'examples/operations/viewer.graphql'],
  output: 'examples/user-app/generated/',
  consumers: 'examples/user-app',
};

export const CODEGEN_CLIENTS: readonly CodegenClient[] = [EXAMPLE_CLIENT, USER_APP_CLIENT];

/** The client preset's output for one client. */
function generates(client: CodegenClient): NonNullable<CodegenConfig['generates']>[string] {
  return {
    schema: client.schema,
    documents: [...client.documents],
    preset: 'client',
    presetConfig: { fragmentMasking: false },
    config: {
      // Every custom scalar must be mapped: a new one fails generation instead of becoming `any`.
      strictScalars: true,
      scalars: { DateTimeISO: 'string', JSONObject: 'Record<string, unknown>' },
      enumType: 'string-literal',
      useTypeImports: true,
    },
  };
}

/** The configuration generating `clients`; shared by the CLI and the check. */
export function codegenConfig(clients: readonly CodegenClient[] = CODEGEN_CLIENTS): CodegenConfig {
  return {
    ignoreNoDocuments: false,
    generates: Object.fromEntries(clients.map((client) => [client.output, generates(client)])),
  };
}

export default codegenConfig();
