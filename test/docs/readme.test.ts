// The README as a newcomer uses it: short, every link inside the repository and resolving, and its
// first-session curl block working verbatim in bash against a real server.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { must } from '../helpers/must';

const ROOT = path.resolve(__dirname, '..', '..');
const README = path.join(ROOT, 'README.md');
const DOCS = path.join(ROOT, 'docs');
const MAX_README_LINES = 250;
/** The HTML comment in README.md that precedes the first-session shell block. */
const FIRST_SESSION_MARKER = '<!-- first-session';

const read = (file: string): string => readFileSync(file, 'utf8');
const docsPages = (): string[] =>
  readdirSync(DOCS)
    .filter((name) => name.endsWith('.md'))
    .map((name) => path.join(DOCS, name));

/** Markdown without fenced code blocks, and inline code spans replaced by a placeholder word. */
function proseOf(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '').replace(/`+[^`\n]*?`+/g, 'code');
}

/** Every link target: inline links and images, reference definitions, autolinks. */
function linkTargets(markdown: string): string[] {
  const prose = proseOf(markdown);
  const inline = [...prose.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => must(m[1], 'a link target'));
  const references = [...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)].map((m) => must(m[1], 'a reference target'));
  const autolinks = [...prose.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]+)>/gi)].map((m) => must(m[1], 'an autolink target'));
  return [...inline, ...references, ...autolinks];
}

const isExternal = (target: string): boolean => /^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//');

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, -1, -2… for repeats. */
function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  const withoutCode = markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[ \t]*$/gm, '');
  for (const match of withoutCode.matchAll(/^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$/gm)) {
    const text = must(match[1], 'the heading text')
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '');
    const slug = text
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${String(count)}`);
  }
  return anchors;
}

/** Paths git ignores (node_modules/, dist/, .data/…) exist here but not in the repository. */
function isIgnoredByGit(file: string): boolean {
  const target = statSync(file).isDirectory() ? `${file}/` : file; // `dist/` patterns match directories only
  return spawnSync('git', ['check-ignore', '-q', '--no-index', target], { cwd: ROOT }).status === 0;
}

/** The problems with one relative link of `from`, or none. */
function problemsOf(from: string, target: string): string[] {
  const [pathPart, anchor] = target.split('#', 2) as [string, string | undefined];
  const resolved = pathPart === '' ? from : path.resolve(path.dirname(from), decodeURIComponent(pathPart));
  const where = `${path.relative(ROOT, from)} -> ${target}`;
  if (resolved !== ROOT && !resolved.startsWith(ROOT + path.sep)) return [`${where}: outside the repository`];
  if (!existsSync(resolved)) return [`${where}: no such file`];
  if (isIgnoredByGit(resolved)) return [`${where}: ignored by git, so not in the repository`];
  if (anchor && resolved.endsWith('.md') && !anchorsOf(read(resolved)).has(anchor.toLowerCase())) {
    return [`${where}: no heading with that anchor`];
  }
  return [];
}

/** The first ```sh block after the first-session marker. */
function firstSessionBlock(): string {
  const readme = read(README);
  const at = readme.indexOf(FIRST_SESSION_MARKER);
  if (at < 0) throw new Error(`README.md has no "${FIRST_SESSION_MARKER}" marker`);
  const block = /^```(?:sh|bash)[ \t]*\n([\s\S]*?)^```[ \t]*$/m.exec(readme.slice(at));
  if (!block) throw new Error('README.md has no ```sh block after the first-session marker');
  return must(block[1], 'the body of the ```sh block');
}

/** Runs `script` as `bash -euo pipefail`, with API pointing at `api`. */
function runBash(script: string, api: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    // Asynchronous on purpose: the server answering the script runs in this process.
    const child = spawn('bash', ['-euo', 'pipefail', '-c', script], {
      cwd: ROOT,
      env: { ...process.env, API: api },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** The `label: {json}` lines the block prints, in order. */
function answers(stdout: string): { label: string; body: any }[] {
  return stdout
    .split('\n')
    .map((line) => /^(\w+):\s+(\{.*\})\s*$/.exec(line))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => ({ label: must(match[1], 'the label'), body: JSON.parse(must(match[2], 'the JSON answer')) }));
}

describe('README.md', () => {
  it(`has at most ${String(MAX_README_LINES)} lines`, () => {
    const lines = read(README).replace(/\n$/, '').split('\n').length;
    expect(lines).toBeLessThanOrEqual(MAX_README_LINES);
  });

  it('links only to files inside the repository, never to a web page', () => {
    const targets = linkTargets(read(README));
    expect(targets.length).toBeGreaterThan(0);
    expect(targets.filter(isExternal)).toEqual([]);
    expect(targets.flatMap((target) => problemsOf(README, target))).toEqual([]);
  });

  it('has a map that links every page of docs/', () => {
    const linked = new Set(
      linkTargets(read(README))
        .filter((target) => !isExternal(target))
        .map((target) => path.resolve(ROOT, must(target.split('#')[0], 'the path of a link'))),
    );
    const pages = docsPages();
    expect(pages.length).toBeGreaterThan(0);
    expect(pages.filter((page) => !linked.has(page)).map((page) => path.relative(ROOT, page))).toEqual([]);
  });
});

describe('docs/', () => {
  it('has relative links that all resolve to files of the repository (and to headings that exist)', () => {
    const problems = docsPages().flatMap((page) =>
      linkTargets(read(page))
        .filter((target) => !isExternal(target))
        .flatMap((target) => problemsOf(page, target)),
    );
    expect(problems).toEqual([]);
  });
});

describe('the first session in README.md', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await startTestApp();
  });

  afterAll(async () => {
    await stopApps(app);
  });

  it('is a self-contained bash block (no jq, the endpoint overridable through API)', () => {
    const block = firstSessionBlock();
    expect(block).toMatch(/^API=\$\{API:-http:\/\/localhost:4000\/graphql\}$/m);
    expect(block).not.toMatch(/\bjq\b/);
  });

  it('runs verbatim in bash -euo pipefail: signup, me, refreshToken, logout, twice in a row', async () => {
    const block = firstSessionBlock();
    const emails: string[] = [];
    for (let run = 0; run < 2; run += 1) {
      const { code, stdout, stderr } = await runBash(block, `${app.url}/graphql`);
      // On failure the diff shows what the block printed up to the step that broke.
      expect({ code, stderr, stdout: code === 0 ? 'ok' : stdout }).toEqual({ code: 0, stderr: '', stdout: 'ok' });
      const steps = answers(stdout);
      expect(steps.map((step) => step.label)).toEqual(['signup', 'me', 'refresh', 'logout', 'me']);
      const [signup, me, refresh, logout, meAfterLogout] = steps.map((step) => step.body);

      expect(signup.errors).toBeUndefined();
      const { accessToken, refreshToken, user } = signup.data.signup;
      expect(accessToken).toEqual(expect.any(String));
      expect(refreshToken).toEqual(expect.any(String));
      expect(user.role).toBe('USER');
      emails.push(user.email);

      // The captured access token works: `me` answers the account that just signed up.
      expect(me).toEqual({ data: { me: { id: user.id, email: user.email, name: 'Ada', role: 'USER' } } });

      // The captured refresh token was exchanged for a new pair.
      expect(refresh.errors).toBeUndefined();
      expect(refresh.data.refreshToken.accessToken).toEqual(expect.any(String));
      expect(refresh.data.refreshToken.accessToken).not.toBe(accessToken);
      expect(refresh.data.refreshToken.refreshToken).toEqual(expect.any(String));
      expect(refresh.data.refreshToken.refreshToken).not.toBe(refreshToken);

      // Logout with the new access token ends the session, which that token then shows.
      expect(logout).toEqual({ data: { logout: true } });
      expect(meAfterLogout.data.me).toBeNull();
      expect(meAfterLogout.errors[0].extensions).toMatchObject({ code: 'UNAUTHENTICATED', reason: 'TOKEN_REVOKED' });
    }
    // A unique email per run, so pasting the block twice works.
    expect(new Set(emails).size).toBe(2);
  });

  it('fails, rather than printing nonsense, when there is no GraphQL API at API', async () => {
    const { code, stdout } = await runBash(firstSessionBlock(), `${app.url}/not-graphql`);
    expect(code).not.toBe(0);
    expect(stdout).not.toContain('"logout"');
  });
});
