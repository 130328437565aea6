import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { buildAppSchema, printSchemaFiles } from '../schema';

function read(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * `schema:print` writes schema.graphql and one schema.<ROLE>.graphql per role (and ANONYMOUS) from
 * the code; `--check` fails naming each file that differs. `--dir <dir>`: another directory than the
 * repository root.
 */
async function run(): Promise<void> {
  const flag = process.argv.indexOf('--dir');
  const dir = flag === -1 ? path.resolve(__dirname, '..', '..') : path.resolve(process.argv[flag + 1] ?? '');
  const files = printSchemaFiles(await buildAppSchema());
  if (!process.argv.includes('--check')) {
    for (const [name, text] of files) {
      writeFileSync(path.join(dir, name), text);
      process.stdout.write(`wrote ${path.relative(process.cwd(), path.join(dir, name)) || name}\n`);
    }
    return;
  }
  const stale = [...files].filter(([name, text]) => read(path.join(dir, name)) !== text).map(([name]) => name);
  if (stale.length > 0) {
    process.stderr.write(
      `${stale.join(', ')} ${stale.length === 1 ? 'differs' : 'differ'} from the schema built from the code: ` +
        'run `npm run schema:print` and commit the output.\n',
    );
    process.exitCode = 1;
    return;
  }
  process.stdout.write(`${[...files.keys()].join(', ')} match the code\n`);
}

run().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exitCode = 1;
});
