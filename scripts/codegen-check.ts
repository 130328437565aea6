import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { generate } from '@graphql-codegen/cli';
import ts from 'typescript';
import { CODEGEN_CLIENTS, codegenConfig, EXAMPLE_CLIENT, type CodegenClient } from '../codegen';

const ROOT = path.resolve(__dirname, '..');

export interface CodegenCheckResult {
  readonly ok: boolean;
  /** One entry per problem, in the words a developer acts on. */
  readonly problems: string[];
}

interface GeneratedFile {
  readonly filename: string;
  readonly content: string;
}

/** Regenerates `client` in memory: file path (absolute) -> content. */
async function generateInMemory(client: CodegenClient): Promise<Map<string, string>> {
  // Validates every operation against the schema: an unknown field, argument or type throws here.
  // With saveToFile false, generate resolves to the files it would write (its typings say `any`).
  const outputs = (await generate({ ...codegenConfig([client]), cwd: ROOT, silent: true, verbose: false }, false)) as GeneratedFile[];
  return new Map(outputs.map((output) => [path.resolve(ROOT, output.filename), output.content]));
}

function typeScriptFilesIn(dir: string): string[] {
  let files: string[];
  try {
    files = readdirSync(dir, { recursive: true, encoding: 'utf8' });
  } catch {
    return []; // not generated yet
  }
  return files.filter((file) => file.endsWith('.ts')).map((file) => path.join(dir, file));
}

/**
 * Type-checks the client's consumers (and `extraConsumers`) against `generated` instead of the files
 * on disk, so a schema given with --schema never touches the committed output.
 */
function typeCheckConsumers(client: CodegenClient, generated: Map<string, string>, extraConsumers: ReadonlyMap<string, string>): string[] {
  const generatedDir = path.join(ROOT, client.output);
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
  const inGeneratedDir = (file: string): boolean => path.resolve(file).startsWith(generatedDir);
  // The fresh output and the extra consumers live in memory; everything else is read from disk.
  const inMemory = new Map([...generated, ...extraConsumers]);
  const memoryHas = (file: string): boolean => inGeneratedDir(file) || inMemory.has(path.resolve(file));
  const disk = ts.createCompilerHost(parsed.options);
  const host: ts.CompilerHost = {
    ...disk,
    fileExists: (file) => (memoryHas(file) ? inMemory.has(path.resolve(file)) : disk.fileExists(file)),
    readFile: (file) => (memoryHas(file) ? inMemory.get(path.resolve(file)) : disk.readFile(file)),
    getSourceFile: (file, languageVersion, onError, shouldCreate) => {
      const content = memoryHas(file) ? inMemory.get(path.resolve(file)) : undefined;
      return content === undefined
        ? disk.getSourceFile(file, languageVersion, onError, shouldCreate)
        : ts.createSourceFile(file, content, languageVersion, true);
    },
  };
  const consumers = typeScriptFilesIn(path.join(ROOT, client.consumers)).filter((file) => !inGeneratedDir(file));
  const program = ts.createProgram([...consumers, ...extraConsumers.keys(), ...generated.keys()], parsed.options, host);
  return ts.getPreEmitDiagnostics(program).map((diagnostic) => {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    const code = `error TS${String(diagnostic.code)}`;
    if (!diagnostic.file || diagnostic.start === undefined) return `${code}: ${message}`;
    const { line, character } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start);
    const file = path.relative(ROOT, diagnostic.file.fileName);
    return `${file}(${String(line + 1)},${String(character + 1)}): ${code}: ${message}`;
  });
}

/** What differs between the fresh generation and the committed output folder. */
function staleFiles(client: CodegenClient, generated: Map<string, string>): string[] {
  const committed = typeScriptFilesIn(path.join(ROOT, client.output));
  const names = new Set([...committed, ...generated.keys()]);
  return [...names]
    .filter((file) => !generated.has(file) || !committed.includes(file) || readFileSync(file, 'utf8') !== generated.get(file))
    .map((file) => path.relative(ROOT, file))
    .sort();
}

export interface CodegenCheckOptions {
  /** The client to check; default: the example client of examples/operations (codegen.ts). */
  readonly client?: CodegenClient;
  /** The schema to generate from; default: the client's committed schema. */
  readonly schema?: string;
  /** More operation files to generate (e.g. one the client's schema should refuse). */
  readonly extraDocuments?: readonly string[];
  /** More TypeScript to type-check against the fresh output, in memory: absolute path -> source. */
  readonly extraConsumers?: ReadonlyMap<string, string>;
  /** Also fail when the output folder differs from the fresh output; default: only for the committed schema. */
  readonly compareWithCommitted?: boolean;
}

/**
 * Regenerates a client's typed documents from the schema, validates its operations against it and
 * type-checks its consumers against the fresh output, all in memory.
 */
export async function codegenCheck(options: CodegenCheckOptions = {}): Promise<CodegenCheckResult> {
  const committed = options.client ?? EXAMPLE_CLIENT;
  const client: CodegenClient = {
    ...committed,
    schema: options.schema ?? committed.schema,
    documents: [...committed.documents, ...(options.extraDocuments ?? [])],
  };
  let generated: Map<string, string>;
  try {
    generated = await generateInMemory(client);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, problems: [`the operations of ${client.output} do not match ${client.schema}:\n${message.trim()}`] };
  }
  const problems = typeCheckConsumers(client, generated, options.extraConsumers ?? new Map());
  if (options.compareWithCommitted ?? path.resolve(ROOT, client.schema) === path.resolve(ROOT, committed.schema)) {
    const stale = staleFiles(client, generated);
    if (stale.length > 0) {
      problems.push(`${client.output} is stale (${stale.join(', ')}): run \`npm run codegen\` and commit it.`);
    }
  }
  return { ok: problems.length === 0, problems };
}

/**
 * `codegen:check`: every client of codegen.ts against its committed schema; `--schema file`: the
 * example client against a candidate schema. Exit code 1 and the problems on stderr when it fails.
 */
async function main(): Promise<void> {
  const flag = process.argv.indexOf('--schema');
  const schema = flag === -1 ? undefined : process.argv[flag + 1];
  if (flag !== -1 && !schema) throw new Error('usage: codegen-check [--schema <file.graphql>]');
  const checks: { client: CodegenClient; schema?: string }[] =
    schema === undefined ? CODEGEN_CLIENTS.map((client) => ({ client })) : [{ client: EXAMPLE_CLIENT, schema }];
  const problems: string[] = [];
  for (const check of checks) problems.push(...(await codegenCheck(check)).problems);
  if (problems.length > 0) {
    process.stderr.write(`codegen check failed:\n\n${problems.join('\n\n')}\n`);
    process.exitCode = 1;
    return;
  }
  for (const { client, schema: candidate } of checks) {
    process.stdout.write(`${client.output} is up to date; its operations and consumers compile against ${candidate ?? client.schema}\n`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  });
}
