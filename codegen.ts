// GraphQL Code Generator: typed documents for the example client operations, from the committed schema.
// `npm run codegen` writes examples/generated/; `npm run codegen:check` (scripts/codegen-check.ts)
// regenerates, type-checks the example consumers and fails when the committed output is stale.
import type { CodegenConfig } from '@graphql-codegen/cli';

export const CODEGEN_SCHEMA = 'schema.graphql';
export const CODEGEN_DOCUMENTS = 'examples/operations/**/*.graphql';
export const CODEGEN_OUTPUT = 'examples/generated/';

/** The client preset's output for `schema`, written under `output`; shared by the CLI and the check. */
export function codegenConfig(schema: string = CODEGEN_SCHEMA, output: string = CODEGEN_OUTPUT): CodegenConfig {
  return {
    schema,
    documents: [CODEGEN_DOCUMENTS],
    ignoreNoDocuments: false,
    generates: {
      [output]: {
        preset: 'client',
        presetConfig: { fragmentMasking: false },
        config: {
          // Every custom scalar must be mapped: a new one fails generation instead of becoming `any`.
          strictScalars: true,
          scalars: { DateTimeISO: 'string', JSONObject: 'Record<string, unknown>' },
          enumType: 'string-literal',
          useTypeImports: true,
        },
      },
    },
  };
}

export default codegenConfig();
