// bcrypt runs on worker threads at the lowest CPU priority (nice 19), so that a login storm that
// saturates the cores leaves them to the event loop first, and `me` stays fast meanwhile.
import { readdirSync, readFileSync } from 'node:fs';
import { freshDatabase } from '../helpers/app';
import { killServerProcesses, serverEnv, startServerProcess } from '../helpers/server-process';

let database: Awaited<ReturnType<typeof freshDatabase>> | undefined;

afterAll(async () => {
  await killServerProcesses();
  await database?.drop();
});

interface Thread {
  readonly name: string;
  readonly nice: number;
}

/** The threads of a process with their names and nice values, from /proc (Linux). */
function threadsOf(pid: number): Thread[] {
  return readdirSync(`/proc/${String(pid)}/task`).flatMap((tid) => {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${String(pid)}/task/${tid}/stat`, 'utf8');
    } catch {
      return []; // the thread ended meanwhile
    }
    // "tid (name) state ppid ...": the fields after the name; nice is the 19th field of the line.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return [{ name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')), nice: Number(fields[16]) }];
  });
}

(process.platform === 'linux' ? it : it.skip)(
  'hashes passwords on threads at nice 19 while the event loop keeps the normal priority',
  async () => {
    database = await freshDatabase();
    const server = await startServerProcess(serverEnv(database, { BCRYPT_COST: '10', PASSWORD_HASH_THREADS: '2' }));
    const signup = await fetch(`http://127.0.0.1:${String(server.port)}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        query: 'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }',
        variables: { input: { email: 'nice@example.com', password: 'correct horse battery', name: 'Nice' } },
      }),
    });
    expect(((await signup.json()) as { errors?: unknown }).errors).toBeUndefined();

    const threads = threadsOf(server.pid);
    expect(threads.find((thread) => thread.name === 'MainThread')?.nice).toBe(0);
    // Node names every worker thread WorkerThread; the hashing pool's are the ones at 19 (a logger
    // transport would be another, at the normal priority).
    const hashing = threads.filter((thread) => thread.name === 'WorkerThread' && thread.nice === 19);
    expect(hashing.length).toBeGreaterThanOrEqual(1);
    expect(hashing.length).toBeLessThanOrEqual(2);
  },
  120_000,
);
