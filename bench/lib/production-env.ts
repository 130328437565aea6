import { randomBytes } from 'node:crypto';

export interface ProductionEnvSettings {
  readonly dataDir: string;
  /** Unset: the embedded database under dataDir. */
  readonly databaseUrl?: string | undefined;
  readonly bcryptCost: number;
  /** The signing secrets, when the bench signs or verifies tokens itself; fresh random ones otherwise. */
  readonly accessSecret?: string;
  readonly refreshSecret?: string;
}

function secret(): string {
  return randomBytes(48).toString('base64url');
}

/**
 * The environment of a project server the bench starts with NODE_ENV=production: what production
 * requires (secrets, the MFA key, mail settings: mail goes to the log), LOG_LEVEL warn and rate limits
 * off; `more` adds or overrides variables.
 */
export function productionEnv(settings: ProductionEnvSettings, more: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'production',
    LOG_LEVEL: 'warn',
    DATA_DIR: settings.dataDir,
    ...(settings.databaseUrl ? { DATABASE_URL: settings.databaseUrl } : {}),
    JWT_ACCESS_SECRET: settings.accessSecret ?? secret(),
    JWT_REFRESH_SECRET: settings.refreshSecret ?? secret(),
    MFA_ENCRYPTION_KEY: secret(),
    SMTP_URL: 'log',
    APP_URL: 'https://app.example.test',
    MAIL_FROM: 'no-reply@example.test',
    BCRYPT_COST: String(settings.bcryptCost),
    RATE_LIMITS: 'off',
    ...more,
  };
}
