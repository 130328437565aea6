import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildAppSchema, printAppSchema } from '../schema';

/** `schema:print` writes schema.graphql from the code; `--check` fails when they differ. */
async function run(): Promise<void> {
  const file = path.resolve(__dirname, '..', '..', 'schema.graphql');
  const printed = printAppSchema(await buildAppSchema());
  if (!process.argv.includes('--check')) {
    writeFileSync(file, printed);
    process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
    return;
  }
  let committed: string;
  try {
    committed = readFileSync(file, 'utf8');
  } catch {
    committed = '';
  }
  if (committed !== printed) {
    process.stderr.write('schema.graphql differs from the schema built from the code: run `npm run schema:print` and commit it.\n');
    process.exitCode = 1;
    return;
  }
  process.stdout.write('schema.graphql matches the code\n');
}

run().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
