import { openDatabase } from '../../src/db/orm';
import { newId } from '../../src/db/uuid';
import { createLogger } from '../../src/logger';
import { emailSkeleton } from '../../src/validation/email';
import { dropDatabases, freshDatabase, startTestApp } from '../helpers/app';
import { PASSWORD, signUp } from '../helpers/factories';
import { codes, gql } from '../helpers/graphql';
import { must } from '../helpers/must';

/**
 * An upgrade over accounts registered before look-alike emails were refused: every account keeps
 * working, and a new signup that looks like one of them is refused.
 */
describe('upgrading a database whose accounts predate email skeletons', () => {
  it('keeps every account, also look-alike pairs, and refuses a new look-alike', async () => {
    const database = await freshDatabase({ empty: true });
    try {
      const orm = await openDatabase(database, createLogger({ logLevel: 'silent' }));
      try {
        await orm.migrator.down({ to: 'Migration20261130010000SessionTransport' });
        const hash = '$2b$04$abcdefghijklmnopqrstuuNs7p.0vJb7aUPpqv/M1o6Xk6yXlW9Bu';
        for (const email of ['paypal@example.com', 'p\u0430yp\u0430l@example.com']) {
          await orm.em
            .getConnection()
            .execute(
              `insert into users (id, email, name, password_hash, role, is_active, created_at, updated_at) values (?, ?, 'Old', ?, 'USER', true, now(), now())`,
              [newId(), email, hash],
            );
        }
      } finally {
        await orm.close(true);
      }

      const app = await startTestApp({ database });
      try {
        const rows = await app.app.orm.em
          .getConnection()
          .execute<{ email: string; email_skeleton: string | null }[]>('select email, email_skeleton from users order by id', [], 'all');
        expect(rows.map((row) => row.email)).toEqual(['paypal@example.com', 'p\u0430yp\u0430l@example.com']);
        expect(must(rows[0], 'the first account').email_skeleton).toBe(emailSkeleton('paypal@example.com'));
        expect(must(rows[1], 'the second account').email_skeleton).toBeNull();

        const lookAlike = await gql(app, 'mutation ($input: SignupInput!) { signup(input: $input) { accessToken } }', {
          input: { email: 'paypa\u217c@example.com', password: PASSWORD, name: 'New' }, // U+217C SMALL ROMAN NUMERAL FIFTY
        });
        expect(codes(lookAlike)).toEqual(['BAD_USER_INPUT']);
        await expect(signUp(app)).resolves.toMatchObject({ id: expect.any(String) });
      } finally {
        await app.stop();
      }
    } finally {
      await dropDatabases(database);
    }
  });
});
