import { Migration } from '@mikro-orm/migrations';
import { emailSkeleton } from '../../validation/email';

/**
 * `users.email_skeleton`, unique: the UTS #39 confusable skeleton of the email, so an address that
 * only looks like a registered one is refused as taken. Existing accounts get theirs here; of
 * existing accounts that already look alike, the oldest keeps the skeleton and the others none
 * (NULLs never conflict), so no account is lost.
 */
export class Migration20261130020000EmailSkeleton extends Migration {
  override async up(): Promise<void> {
    await this.execute(`alter table "users" add column "email_skeleton" text null;`);
    const rows = await this.execute(`select "id", "email" from "users" order by "id";`);
    const taken = new Set<string>();
    for (const row of rows) {
      const { id, email } = row as { id: string; email: string };
      const skeleton = emailSkeleton(email);
      if (taken.has(skeleton)) continue;
      taken.add(skeleton);
      await this.execute(`update "users" set "email_skeleton" = ? where "id" = ?;`, [skeleton, id]);
    }
    this.addSql(`alter table "users" add constraint "users_email_skeleton_unique" unique ("email_skeleton");`);
  }

  override down(): void {
    this.addSql(`alter table "users" drop column "email_skeleton";`);
  }
}
