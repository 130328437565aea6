import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from '@graphql-codegen/cli';
import ts from 'typescript';
import { CODEGEN_OUTPUT, CODEGEN_SCHEMA, codegenConfig } from '../codegen';

const ROOT = path.resolve(__dirname, '..');
const GENERATED_DIR = path.join(ROOT, CODEGEN_OUTPUT);
const CONSUMERS_DIR = path.join(ROOT, 'examples', 'operations');

export interface CodegenCheckResult {
  readonly ok: boolean;
  /** One entry per problem, in the words a developer acts on. */
  readonly problems: string[];
}

interface GeneratedFile {
  readonly filename: string;
  readonly content: string;
}

/** Regenerates the example client in memory from `schema`: file path (absolute) -> content. */
async function generateInMemory(schema: string): Promise<Map<string, string>> {
  // Validates every operation against the schema: an unknown field, argument or type throws here.
  // With saveToFile false, generate resolves to the files it would write (its typings say `any`).
  const outputs = (await generate({ ...codegenConfig(schema), cwd: ROOT, silent: true, verbose: false }, false)) as GeneratedFile[];
  return new Map(outputs.map((output) => [path.resolve(ROOT, output.filename), output.content]));
}

function typeScriptFilesIn(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => path.join(dir, file));
}

/**
 * Type-checks the consumers in examples/operations against `generated` instead of the files on disk,
 * so a schema given with --schema never touches the committed output.
 */
function typeCheckConsumers(generated: Map<string, string>): string[] {
  const parsed = ts.getParsedCommandLineOfConfigFile(
    path.join(ROOT, 'tsconfig.json'),
    { noEmit: true },
    {
      ...ts.sys,
      onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
        throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
      },
    },
  );
  if (!parsed) throw new Error('cannot read tsconfig.json');
  const inGeneratedDir = (file: string): boolean => path.resolve(file).startsWith(GENERATED_DIR);
  const disk = ts.createCompilerHost(parsed.options);
  const host: ts.CompilerHost = {
    ...disk,
    fileExists: (file) => (inGeneratedDir(file) ? generated.has(path.resolve(file)) : disk.fileExists(file)),
    readFile: (file) => (inGeneratedDir(file) ? generated.get(path.resolve(file)) : disk.readFile(file)),
    getSourceFile: (file, languageVersion, onError, shouldCreate) => {
      const content = inGeneratedDir(file) ? generated.get(path.resolve(file)) : undefined;
      return content === undefined
        ? disk.getSourceFile(file, languageVersion, onError, shouldCreate)
        : ts.createSourceFile(file, content, languageVersion, true);
    },
  };
  const program = ts.createProgram([...typeScriptFilesIn(CONSUMERS_DIR), ...generated.keys()], parsed.options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const code = `error TS${String(diagnostic.code)}`;
    if (!diagnostic.file || diagnostic.start === undefined) return `${code}: ${message}`;
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const file = path.relative(ROOT, diagnostic.file.fileName);
    return `${file}(${String(line + 1)},${String(character + 1)}): ${code}: ${message}`;
  });
}

/** What differs between the fresh generation and the committed examples/generated/. */
function staleFiles(generated: Map<string, string>): string[] {
  const committed = typeScriptFilesIn(GENERATED_DIR);
  const names = new Set([...committed, ...generated.keys()]);
  return [...names]
    .filter((file) => !generated.has(file) || !committed.includes(file) || readFileSync(file, 'utf8') !== generated.get(file))
    .map((file) => path.relative(ROOT, file))
    .sort();
}

export interface CodegenCheckOptions {
  /** The schema to generate from; default: the committed schema.graphql. */
  readonly schema?: string;
  /** Also fail when examples/generated/ differs from the fresh output; default: only for the committed schema. */
  readonly compareWithCommitted?: boolean;
}

/**
 * Regenerates the typed documents for examples/operations from the schema, validates the operations
 * against it and type-checks the example consumers against the fresh output, all in memory.
 */
export async function codegenCheck(options: CodegenCheckOptions = {}): Promise<CodegenCheckResult> {
  const schema = options.schema ?? CODEGEN_SCHEMA;
  let generated: Map<string, string>;
  try {
    generated = await generateInMemory(schema);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, problems: [`the example operations do not match ${schema}:\n${message.trim()}`] };
  }
  const problems = typeCheckConsumers(generated);
  if (options.compareWithCommitted ?? path.resolve(ROOT, schema) === path.resolve(ROOT, CODEGEN_SCHEMA)) {
    const stale = staleFiles(generated);
    if (stale.length > 0) {
      problems.push(`${CODEGEN_OUTPUT} is stale (${stale.join(', ')}): run \`npm run codegen\` and commit it.`);
    }
  }
  return { ok: problems.length === 0, problems };
}

/** `codegen:check [--schema file]`: exit code 1 and the problems on stderr when the check fails. */
async function main(): Promise<void> {
  const flag = process.argv.indexOf('--schema');
  const schema = flag === -1 ? CODEGEN_SCHEMA : process.argv[flag + 1];
  if (!schema) throw new Error('usage: codegen-check [--schema <file.graphql>]');
  const result = await codegenCheck({ schema });
  if (!result.ok) {
    process.stderr.write(`codegen check failed:\n\n${result.problems.join('\n\n')}\n`);
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${CODEGEN_OUTPUT} is up to date; the example operations and consumers compile against ${schema}\n`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
