import { Migration } from '@mikro-orm/migrations';

const AUDIT_TYPES = [
  'SIGNUP',
  'LOGIN_SUCCEEDED',
  'LOGIN_FAILED',
  'TOKEN_REFRESHED',
  'REFRESH_TOKEN_REUSED',
  'LOGOUT',
  'SESSION_REVOKED',
  'PASSWORD_CHANGED',
  'ROLE_CHANGED',
  'USER_DEACTIVATED',
  'USER_REACTIVATED',
  'PASSWORD_RESET_REQUESTED',
  'PASSWORD_RESET',
  'VERIFICATION_EMAIL_SENT',
  'EMAIL_VERIFIED',
  'EMAIL_CHANGE_REQUESTED',
  'EMAIL_CHANGED',
  'MFA_ENABLED',
  'MFA_DISABLED',
  'RECOVERY_CODES_REGENERATED',
  'MFA_SUCCEEDED',
  'MFA_FAILED',
  'MFA_RESET',
  'PASSKEY_REGISTERED',
  'PASSKEY_DELETED',
  'PASSKEY_LOGIN_SUCCEEDED',
  'PASSKEY_LOGIN_FAILED',
];

/** Passkeys (WebAuthn credentials) and the server-side challenges of their registration and login. */
export class Migration20261130050000Passkeys extends Migration {
  override up(): void {
    this.addSql(
      `create table "passkeys" ("id" uuid not null, "user_id" uuid not null, "credential_id" text not null, "public_key" text not null, "counter" bigint not null default 0, "transports" text null, "device_type" text not null, "backed_up" boolean not null, "name" text null, "created_at" timestamptz not null, "last_used_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`alter table "passkeys" add constraint "passkeys_credential_id_unique" unique ("credential_id");`);
    this.addSql(`create index "passkeys_user_id_index" on "passkeys" ("user_id");`);
    this.addSql(
      `alter table "passkeys" add constraint "passkeys_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`,
    );
    this.addSql(
      `create table "webauthn_challenges" ("id" uuid not null, "challenge" varchar(128) not null, "purpose" text not null, "user_id" uuid null, "created_at" timestamptz not null, "expires_at" timestamptz not null, "used_at" timestamptz null, primary key ("id"));`,
    );
    this.addSql(`alter table "webauthn_challenges" add constraint "webauthn_challenges_challenge_unique" unique ("challenge");`);
    this.addSql(`create index "webauthn_challenges_expires_at_index" on "webauthn_challenges" ("expires_at");`);
    this.addSql(
      `alter table "webauthn_challenges" add constraint "webauthn_challenges_user_id_foreign" foreign key ("user_id") references "users" ("id") on delete cascade;`,
    );
    this.addSql(`alter table "audit_events" drop constraint "audit_events_type_check";`);
    this.addSql(
      `alter table "audit_events" add constraint "audit_events_type_check" check ("type" in (${AUDIT_TYPES.map((type) => `'${type}'`).join(', ')}));`,
    );
  }

  override down(): void {
    this.addSql(`drop table if exists "webauthn_challenges";`);
    this.addSql(`drop table if exists "passkeys";`);
  }
}
