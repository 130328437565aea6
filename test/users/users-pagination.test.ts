import { randomBytes } from 'node:crypto';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { Role, signUp, uniqueEmail, userWithRole, type SignedIn } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { must } from '../helpers/must';

// Rate limits are their own suite; seeding needs many signups from one address.
const ENV = { RATE_LIMITS: 'off' };

const USERS = `query ($first: Int, $after: String, $role: Role, $search: String) {
  users(first: $first, after: $after, role: $role, search: $search) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node { id name email role createdAt } }
  }
}`;

interface Page {
  totalCount: number;
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  edges: { cursor: string; node: { id: string; name: string; email: string; role: string; createdAt: string } }[];
}

async function page(app: TestApp, viewer: SignedIn, variables: Record<string, unknown>): Promise<Page> {
  const res = await gql(app, USERS, variables, { token: viewer.accessToken });
  expect(res.errors).toBeUndefined();
  return res.data?.['users'] as Page;
}

/** Follows endCursor (from `after`, if given) until hasNextPage is false; returns every page. */
async function walk(app: TestApp, viewer: SignedIn, variables: Record<string, unknown>): Promise<Page[]> {
  const pages: Page[] = [];
  let after = (variables['after'] as string | undefined) ?? null;
  for (;;) {
    const current = await page(app, viewer, { ...variables, after });
    pages.push(current);
    if (!current.pageInfo.hasNextPage) return pages;
    expect(current.pageInfo.endCursor).not.toBeNull();
    after = current.pageInfo.endCursor;
    // A runaway walk (a cursor that does not advance) must fail, not hang.
    if (pages.length > 100) throw new Error('pagination does not end');
  }
}

function ids(pages: Page[]): string[] {
  return pages.flatMap((p) => p.edges.map((e) => e.node.id));
}

/** Signs up `count` users, `batch` at a time, named by `name(i)`. */
async function seed(app: TestApp, count: number, name: (i: number) => string, batch = 15): Promise<SignedIn[]> {
  const users: SignedIn[] = [];
  for (let start = 0; start < count; start += batch) {
    const size = Math.min(batch, count - start);
    users.push(...(await Promise.all(Array.from({ length: size }, (_, k) => signUp(app, { name: name(start + k) })))));
  }
  return users;
}

describe('walking every page', () => {
  let app: TestApp;
  let admin: SignedIn;
  let everyone: string[];

  beforeAll(async () => {
    app = await startTestApp({ env: ENV });
    admin = await userWithRole(app, Role.ADMIN);
    const users = await seed(app, 45, (i) => `Walker ${String(i)}`);
    everyone = [admin.id, ...users.map((u) => u.id)];
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it('visits every user exactly once, oldest first, with a constant totalCount', async () => {
    const pages = await walk(app, admin, { first: 10 });
    expect(pages.map((p) => p.edges.length)).toEqual([10, 10, 10, 10, 6]);
    expect(pages.map((p) => p.pageInfo.hasNextPage)).toEqual([true, true, true, true, false]);
    for (const p of pages) {
      expect(p.totalCount).toBe(46);
      expect(p.pageInfo.endCursor).toBe(p.edges.at(-1)?.cursor);
    }

    const seen = ids(pages);
    expect(seen).toHaveLength(46);
    expect(new Set(seen).size).toBe(46);
    expect([...seen].sort()).toEqual([...everyone].sort());
    // "Newest last": ids are time-ordered, and so are the creation times.
    expect(seen).toEqual([...seen].sort());
    const created = pages.flatMap((p) => p.edges.map((e) => Date.parse(e.node.createdAt)));
    expect(created).toEqual([...created].sort((a, b) => a - b));
  });

  it('gives the same order on every walk and in one big page', async () => {
    const first = ids(await walk(app, admin, { first: 10 }));
    const second = ids(await walk(app, admin, { first: 7 }));
    const single = await page(app, admin, { first: 100 });
    expect(second).toEqual(first);
    expect(single.edges.map((e) => e.node.id)).toEqual(first);
    expect(single.pageInfo).toEqual({ hasNextPage: false, endCursor: single.edges.at(-1)?.cursor });
  });

  it('defaults to 20 per page', async () => {
    const res = await page(app, admin, {});
    expect(res.edges).toHaveLength(20);
    expect(res.pageInfo.hasNextPage).toBe(true);
  });

  it('answers an empty last page after the final cursor', async () => {
    const pages = await walk(app, admin, { first: 46 });
    expect(pages).toHaveLength(1);
    const after = await page(app, admin, { first: 10, after: pages[0]?.pageInfo.endCursor });
    expect(after).toEqual({ totalCount: 46, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
  });

  it('neither repeats nor skips anyone when an account is created during the walk', async () => {
    const before = ids(await walk(app, admin, { first: 100 }));
    const firstPages: Page[] = [await page(app, admin, { first: 10 })];
    firstPages.push(await page(app, admin, { first: 10, after: firstPages[0]?.pageInfo.endCursor }));
    const newcomer = await signUp(app, { name: 'Newcomer' });
    const rest = await walk(app, admin, { first: 10, after: firstPages[1]?.pageInfo.endCursor });

    const seen = ids([...firstPages, ...rest]);
    expect(seen).toEqual([...before, newcomer.id]);
    expect(rest.at(-1)?.totalCount).toBe(before.length + 1);
  });
});

describe('role filter', () => {
  let app: TestApp;
  let admin: SignedIn;
  let moderators: SignedIn[];
  let users: SignedIn[];

  beforeAll(async () => {
    app = await startTestApp({ env: ENV });
    admin = await userWithRole(app, Role.ADMIN);
    moderators = await Promise.all([1, 2, 3, 4, 5].map(() => userWithRole(app, Role.MODERATOR)));
    users = await seed(app, 7, (i) => `Member ${String(i)}`);
  });
  afterAll(async () => {
    await stopApps(app);
  });

  it.each([
    ['ADMIN', () => [admin]],
    ['MODERATOR', () => moderators],
    ['USER', () => users],
  ])('lists only %s accounts, across pages, with a matching totalCount', async (role, expected) => {
    const pages = await walk(app, admin, { first: 2, role });
    const nodes = pages.flatMap((p) => p.edges.map((e) => e.node));
    expect(nodes.every((n) => n.role === role)).toBe(true);
    expect(nodes.map((n) => n.id).sort()).toEqual(
      expected()
        .map((u) => u.id)
        .sort(),
    );
    for (const p of pages) expect(p.totalCount).toBe(expected().length);
  });

  it('counts everyone without a filter', async () => {
    expect((await page(app, admin, { first: 1 })).totalCount).toBe(1 + 5 + 7);
  });

  it('combines role and search', async () => {
    const res = await page(app, admin, { role: 'USER', search: 'member 3' });
    expect(res.totalCount).toBe(1);
    expect(res.edges.map((e) => e.node.id)).toEqual([users[3]?.id]);
    expect((await page(app, admin, { role: 'MODERATOR', search: 'member' })).totalCount).toBe(0);
  });

  it('is open to a MODERATOR too', async () => {
    const res = await page(app, must(moderators[0], 'a moderator'), { role: 'ADMIN' });
    expect(res.edges.map((e) => e.node.id)).toEqual([admin.id]);
  });
});

describe('search', () => {
  let app: TestApp;
  let admin: SignedIn;

  beforeAll(async () => {
    app = await startTestApp({ env: ENV });
    admin = await userWithRole(app, Role.ADMIN);
  });
  afterAll(async () => {
    await stopApps(app);
  });

  /** A tag unique to one test, so that accounts made by the other tests never match. */
  function tag(): string {
    return `t${randomBytes(4).toString('hex')}`;
  }

  async function found(search: string, first = 100): Promise<{ ids: string[]; totalCount: number }> {
    const pages = await walk(app, admin, { first, search });
    for (const p of pages) expect(p.totalCount).toBe(pages[0]?.totalCount);
    return { ids: ids(pages).sort(), totalCount: pages[0]?.totalCount ?? -1 };
  }

  function idsOf(...users: SignedIn[]): string[] {
    return users.map((u) => u.id).sort();
  }

  it('matches part of the name, ignoring case', async () => {
    const t = tag();
    const [hopper, kelly, graceful] = await Promise.all([
      signUp(app, { name: `Grace Hopper ${t}` }),
      signUp(app, { name: `grace kelly ${t}` }),
      signUp(app, { name: `${t} GRACEFUL exit` }),
    ]);
    await signUp(app, { name: `Ada Lovelace ${t}` });
    for (const search of [`grace`, `GRACE`, `gRaCe`]) {
      const res = await found(search);
      expect(res.ids).toEqual(idsOf(hopper, kelly, graceful));
      expect(res.totalCount).toBe(3);
    }
    expect((await found(`HOPPER ${t.toUpperCase()}`)).ids).toEqual(idsOf(hopper));
    expect((await found(t)).totalCount).toBe(4);
  });

  it('matches part of the email, ignoring case', async () => {
    const t = tag();
    const target = await signUp(app, { email: `${t}.mailbox@example.org`, name: 'Nameless' });
    await signUp(app, { email: `${t}.other@example.org`, name: 'Nameless' });
    for (const search of [`${t}.mailbox`, `${t.toUpperCase()}.MAILBOX@EXAMPLE`, `Mailbox@Example.ORG`]) {
      expect((await found(search)).ids).toEqual(idsOf(target));
    }
    expect((await found(`${t}.`)).totalCount).toBe(2);
  });

  it('ignores case beyond ASCII', async () => {
    const t = tag();
    const target = await signUp(app, { name: `Émile Zoë ${t}` });
    for (const search of [`émile zoë ${t}`, `ÉMILE ZOË ${t}`]) {
      expect((await found(search)).ids).toEqual(idsOf(target));
    }
  });

  it('ignores surrounding spaces in the search', async () => {
    const t = tag();
    const target = await signUp(app, { name: `Spaced ${t}` });
    expect((await found(`   ${t}  `)).ids).toEqual(idsOf(target));
  });

  it('treats % literally', async () => {
    const t = tag();
    const percent = await signUp(app, { name: `${t} 100% sure` });
    await Promise.all([signUp(app, { name: `${t} 100 sure` }), signUp(app, { name: `${t} 1000 sure` })]);
    expect((await found(`${t} 100%`)).ids).toEqual(idsOf(percent));
    expect((await found(`${t} 100% sure`)).ids).toEqual(idsOf(percent));
    expect((await found(`${t}%sure`)).totalCount).toBe(0);
    expect((await found('%')).ids).toEqual(idsOf(percent));
  });

  it('treats _ literally, in names and in emails', async () => {
    const t = tag();
    const [snake, underscored] = await Promise.all([
      signUp(app, { name: `${t} snake_case` }),
      signUp(app, { email: `${t}_under@example.com`, name: 'Mail Only' }),
    ]);
    await Promise.all([signUp(app, { name: `${t} snakeXcase` }), signUp(app, { email: `${t}Xunder@example.com`, name: 'Mail Only' })]);
    expect((await found(`${t} snake_case`)).ids).toEqual(idsOf(snake));
    expect((await found(`e_c`)).ids).toEqual(idsOf(snake));
    expect((await found(`${t}_under`)).ids).toEqual(idsOf(underscored));
  });

  it('treats a backslash literally', async () => {
    const t = tag();
    const slashed = await signUp(app, { name: `${t} back\\slash` });
    await signUp(app, { name: `${t} backslash` });
    expect((await found(`${t} back\\slash`)).ids).toEqual(idsOf(slashed));
    expect((await found(`k\\s`)).ids).toEqual(idsOf(slashed));
  });

  it('pages through the matches with a totalCount that follows the filter', async () => {
    const t = tag();
    const matches = await seed(app, 5, (i) => `Paged ${t} ${String(i)}`);
    await seed(app, 3, (i) => `Unpaged ${String(i)}`);
    const pages = await walk(app, admin, { first: 2, search: `paged ${t}` });
    expect(pages.map((p) => p.edges.length)).toEqual([2, 2, 1]);
    for (const p of pages) expect(p.totalCount).toBe(5);
    expect(ids(pages).sort()).toEqual(idsOf(...matches));
  });

  it('answers an empty connection when nothing matches', async () => {
    const res = await page(app, admin, { search: `${tag()}-nobody` });
    expect(res).toEqual({ totalCount: 0, pageInfo: { hasNextPage: false, endCursor: null }, edges: [] });
  });

  it('refuses a search longer than 100 characters', async () => {
    const res = await gql(app, USERS, { search: 's'.repeat(101) }, { token: admin.accessToken });
    expect(codes(res)).toEqual(['BAD_USER_INPUT']);
    expect(Object.keys(res.errors?.[0]?.extensions?.fields ?? {})).toEqual(['search']);
  });

  it('finds an email given in full, as typed with capitals', async () => {
    const email = uniqueEmail('Exact');
    const target = await signUp(app, { email });
    expect((await found(email.toUpperCase())).ids).toEqual(idsOf(target));
  });
});
