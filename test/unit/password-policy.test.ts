import { dictionary } from '@zxcvbn-ts/language-common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import {
  COMMON_PASSWORD_COUNT,
  isCommonPassword,
  PASSWORD_COMMON_MESSAGE,
  PASSWORD_EMAIL_MESSAGE,
  PASSWORD_LENGTH_MESSAGE,
  passwordLength,
  passwordProblem,
} from '../../src/credentials/password.policy';
import { PasswordHasher } from '../../src/credentials/password.hasher';
import { ConfigError, loadConfig } from '../../src/config/config';
import { TEST_ACCESS_SECRET, TEST_REFRESH_SECRET } from '../helpers/app';
import { codePointCount } from '../helpers/text';

const LISTED = dictionary['passwords-common'].filter((password) => codePointCount(password) >= 8);

describe('passwordProblem', () => {
  it('refuses anything but a string', () => {
    for (const value of [undefined, null, 12345678, ['password'], { length: 8 }]) expect(passwordProblem(value)).toBe('must be a string');
  });

  it('counts code points of the NFC form: 8 to 256', () => {
    expect(passwordProblem('x7'.repeat(3) + 'y')).toBe(PASSWORD_LENGTH_MESSAGE);
    expect(passwordProblem('x7'.repeat(4))).toBeNull();
    expect(passwordProblem('x7'.repeat(128))).toBeNull();
    expect(passwordProblem('x7'.repeat(128) + 'y')).toBe(PASSWORD_LENGTH_MESSAGE);
    expect(passwordProblem('🦊'.repeat(7))).toBe(PASSWORD_LENGTH_MESSAGE);
    expect(passwordProblem('🦊'.repeat(8))).toBeNull();
    expect(passwordProblem('🦊'.repeat(256))).toBeNull();
    expect(passwordProblem('🦊'.repeat(257))).toBe(PASSWORD_LENGTH_MESSAGE);
    // 512 code points typed, 256 composed; 257 composed is one too many.
    expect(passwordLength('e\u0301'.repeat(256))).toBe(256);
    expect(passwordProblem('e\u0301'.repeat(256))).toBeNull();
    expect(passwordProblem('e\u0301'.repeat(257))).toBe(PASSWORD_LENGTH_MESSAGE);
    // Four code points that compose into one (U+1F87): still counted as one character.
    expect(passwordProblem('\u03b1\u0313\u0342\u0345'.repeat(256))).toBeNull();
  });

  it('refuses a string of megabytes as too long', () => {
    expect(passwordProblem('a'.repeat(10_000_000))).toBe(PASSWORD_LENGTH_MESSAGE);
    expect(passwordProblem('\u0301'.repeat(10_000_000))).toBe(PASSWORD_LENGTH_MESSAGE);
  });

  it('has no composition rules', () => {
    for (const password of ['abcdefgh-lowercase only', '9183746502918', 'ALLUPPERCASEWORDS', 'mot de passe très long']) {
      expect(passwordProblem(password)).toBeNull();
    }
  });

  it('refuses every list entry of 8 or more characters, in any case and Unicode form', () => {
    expect(LISTED.length).toBeGreaterThan(10_000);
    expect(COMMON_PASSWORD_COUNT).toBe(new Set(LISTED).size);
    const missed = LISTED.filter((password) => passwordProblem(password) !== PASSWORD_COMMON_MESSAGE);
    expect(missed).toEqual([]);
    expect(passwordProblem('PassWord1')).toBe(PASSWORD_COMMON_MESSAGE);
    expect(passwordProblem('IloveYOU12')).toBe(PASSWORD_COMMON_MESSAGE);
    expect(isCommonPassword('QWERTYUIOP')).toBe(true);
  });

  it('accepts passwords that are not on the list', () => {
    for (const password of ['vq8#Lm2!', 'correct horse battery', 'password1 but longer']) {
      expect(isCommonPassword(password)).toBe(false);
      expect(passwordProblem(password)).toBeNull();
    }
  });

  it('refuses the account email and its local part, whatever the case and surrounding spaces', () => {
    const context = { email: '  Jane.Doe.1984@Example.com ' };
    expect(passwordProblem('jane.doe.1984@example.com', context)).toBe(PASSWORD_EMAIL_MESSAGE);
    expect(passwordProblem('JANE.DOE.1984', context)).toBe(PASSWORD_EMAIL_MESSAGE);
    expect(passwordProblem('jane.doe.1984!', context)).toBeNull();
    expect(passwordProblem('jane.doe.1984', { email: 'someone.else@example.com' })).toBeNull();
    expect(passwordProblem('jane.doe.1984', {})).toBeNull();
  });
});

describe('BOOTSTRAP_ADMIN_PASSWORD follows the same policy', () => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'auth-api-policy-'));
  afterAll(() => {
    rmSync(dataDir, { recursive: true, force: true });
  });

  function bootstrapError(password: string): ConfigError | undefined {
    try {
      loadConfig({
        DATA_DIR: dataDir,
        JWT_ACCESS_SECRET: TEST_ACCESS_SECRET,
        JWT_REFRESH_SECRET: TEST_REFRESH_SECRET,
        BOOTSTRAP_ADMIN_EMAIL: 'root.admin@example.com',
        BOOTSTRAP_ADMIN_PASSWORD: password,
      });
      return undefined;
    } catch (error) {
      if (error instanceof ConfigError) return error;
      throw error;
    }
  }

  it.each([
    ['a short one', 'short', PASSWORD_LENGTH_MESSAGE],
    ['a common one', 'qwertyuiop', PASSWORD_COMMON_MESSAGE],
    ['the admin email', 'Root.Admin@example.com', PASSWORD_EMAIL_MESSAGE],
    ['its local part', 'root.admin', PASSWORD_EMAIL_MESSAGE],
  ])('refuses %s, naming the variable', (_name, password, problem) => {
    const error = bootstrapError(password);
    expect(error?.variable).toBe('BOOTSTRAP_ADMIN_PASSWORD');
    expect(error?.message).toBe(`BOOTSTRAP_ADMIN_PASSWORD ${problem}`);
  });

  it('accepts a password the policy accepts', () => {
    expect(bootstrapError('a long admin password')).toBeUndefined();
  });
});

describe('PasswordHasher', () => {
  let service: PasswordHasher;
  beforeAll(() => {
    service = new PasswordHasher(5);
  });
  afterAll(async () => {
    await service.close();
  });

  it('compares unknown emails with a decoy hash of the configured cost, made once', async () => {
    const decoy = service.decoyHash;
    const real = await service.hash('a real password');
    expect(await decoy).toMatch(/^\$2[aby]\$05\$/);
    expect((await decoy).slice(0, 7)).toBe(real.slice(0, 7));
    expect(await service.verifyAgainstNothing('a real password')).toBe(false);
    expect(await service.verifyAgainstNothing('another password')).toBe(false);
    expect(service.decoyHash).toBe(decoy);
  });

  it('does not truncate at 72 bytes and treats NFC and NFD alike', async () => {
    const prefix = 'q'.repeat(100);
    const hash = await service.hash(`${prefix}-one`);
    expect(await service.verify(`${prefix}-one`, hash)).toBe(true);
    expect(await service.verify(`${prefix}-two`, hash)).toBe(false);

    const nfc = 'Ångström crème'.normalize('NFC');
    const composed = await service.hash(nfc);
    expect(await service.verify(nfc.normalize('NFD'), composed)).toBe(true);
  });
});
