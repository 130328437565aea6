import { CombinedGraphQLErrors } from '@apollo/client';
import {
  createClient,
  describeViewer,
  fetchAllUsers,
  fetchSessions,
  fetchUsersPage,
  fetchViewer,
  logIn,
  logOut,
  refresh,
  setRole,
  type TokenStore,
} from '../../examples/operations/consumer';
import { startTestApp, stopApps, type TestApp } from '../helpers/app';
import { PASSWORD, Role, signUp, uniqueEmail, userWithRole, type SignedIn } from '../helpers/factories';
import { must } from '../helpers/must';

// The documents generated from examples/operations (examples/generated) run against the real server
// through the typed consumer: what type-checks in `npm run codegen:check` also works on the wire.

let app: TestApp;

beforeAll(async () => {
  app = await startTestApp();
});

afterAll(() => stopApps(app));

describe('the generated typed documents, through Apollo Client', () => {
  it('sign in, read the viewer, page through users with the cursor, change a role, refresh, log out', async () => {
    const admin = await userWithRole(app, Role.ADMIN);
    const term = `typed${Date.now().toString(36)}`;
    const members: SignedIn[] = [];
    for (const name of ['One', 'Two', 'Three']) members.push(await signUp(app, { name: `${term} ${name}`, email: uniqueEmail(term) }));

    const tokens: TokenStore = { accessToken: null };
    const client = createClient(`${app.url}/graphql`, tokens);
    const signedIn = await logIn(client, tokens, admin.email.toUpperCase(), PASSWORD);
    expect(signedIn.user).toMatchObject({ id: admin.id, name: 'ADMIN user', email: admin.email, role: 'ADMIN' });
    expect(tokens.accessToken).toBe(signedIn.accessToken);

    const viewer = must(await fetchViewer(client), 'the viewer');
    expect(viewer.id).toBe(admin.id);
    expect(describeViewer(viewer)).toMatch(new RegExp(`^ADMIN user <${admin.email}>, Administrator since \\d{4}-\\d{2}-\\d{2}$`));

    // Page size 2 over three matches: the second page comes from the first page's endCursor.
    const listed = await fetchAllUsers(client, { search: term }, 2);
    expect(listed.map((user) => user.id)).toEqual(members.map((member) => member.id));
    expect(listed.every((user) => user.isActive === true && user.email?.startsWith(term))).toBe(true);

    await expect(setRole(client, must(members[0], 'the first member').id, 'MODERATOR')).resolves.toBe('MODERATOR');

    const sessions = await fetchSessions(client);
    expect(sessions[0]?.current).toBe(true);

    const renewed = await refresh(client, tokens, must(signedIn.refreshToken, 'the refresh token'));
    expect(renewed.accessToken).not.toBe(signedIn.accessToken);
    expect(tokens.accessToken).toBe(renewed.accessToken);
    expect((await fetchViewer(client))?.id).toBe(admin.id);

    await expect(logOut(client, tokens)).resolves.toBe(true);
    await expect(fetchViewer(client)).resolves.toBeNull();
  });

  it('surfaces the FORBIDDEN that @authorized announces on users for a USER', async () => {
    const member = await signUp(app);
    const tokens: TokenStore = { accessToken: member.accessToken };
    const client = createClient(`${app.url}/graphql`, tokens);
    const error: unknown = await fetchUsersPage(client, { first: 1 }).then(
      () => null,
      (rejection: unknown) => rejection,
    );
    expect(CombinedGraphQLErrors.is(error)).toBe(true);
    expect((error as CombinedGraphQLErrors).errors.map((e) => e.extensions?.['code'])).toEqual(['FORBIDDEN']);
  });
});
