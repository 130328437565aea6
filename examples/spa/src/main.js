// The page: a sign-in form (password, then a TOTP code when the account asks for one; or a passkey),
// the signed-in user's profile with its security settings (authenticator app, passkeys), the pages of
// the mailed links (reset a password, verify an address), and the session calls from session.js. One HTML page for every path:
// the last segment of location.pathname picks what it shows.
import { CombinedGraphQLErrors } from '@apollo/client';
import QRCode from 'qrcode';
import {
  cancelMfa,
  confirmTotp,
  deletePasskey,
  disableTotp,
  enrollTotp,
  hasAccessToken,
  loadProfile,
  logIn,
  logInWithPasskey,
  logOut,
  registerPasskey,
  requestPasswordReset,
  resendVerificationEmail,
  resetPassword,
  restoreSession,
  tokenExpiresAt,
  verifyEmail,
  verifyMfa,
} from './session.js';

const main = document.querySelector('main');
const errorLine = document.getElementById('error');
const notice = document.getElementById('notice');

/** Shows the section whose id is `state` (none while loading). */
function show(state) {
  main.dataset.state = state;
  document.getElementById('loading').hidden = state !== 'loading';
  for (const section of main.querySelectorAll('section')) section.hidden = section.id !== state;
}

function render({ me, passkeys }) {
  document.getElementById('me-name').textContent = me.name;
  document.getElementById('me-email').textContent = me.email;
  const verified = document.getElementById('me-email-verified');
  verified.textContent = me.emailVerified ? '(verified)' : '(not verified)';
  verified.dataset.verified = String(me.emailVerified);
  document.getElementById('resend-verification').hidden = me.emailVerified;
  document.getElementById('me-role').textContent = me.role;
  document.getElementById('token-expires-at').textContent = tokenExpiresAt()?.toLocaleTimeString() ?? '';
  renderSecurity(me.mfaEnabled, passkeys ?? []);
}

/** The security settings; an enrolment in progress and the recovery codes stay only until the next render. */
function renderSecurity(mfaEnabled, passkeys) {
  const status = document.getElementById('mfa-enabled');
  status.textContent = mfaEnabled ? 'on' : 'off';
  status.dataset.enabled = String(mfaEnabled);
  document.getElementById('enroll-totp').hidden = mfaEnabled;
  document.getElementById('disable-totp-form').hidden = !mfaEnabled;
  document.getElementById('totp-enrolment').hidden = true;
  document.getElementById('totp-secret').textContent = '';
  document.getElementById('totp-qr').removeAttribute('src');
  document.getElementById('recovery').hidden = true;
  document.getElementById('recovery-codes').replaceChildren();

  document.getElementById('no-passkeys').hidden = passkeys.length > 0;
  document.getElementById('passkey-list').replaceChildren(
    ...passkeys.map((passkey) => {
      const item = document.createElement('li');
      item.dataset.id = passkey.id;
      const name = document.createElement('strong');
      name.className = 'passkey-name';
      name.textContent = passkey.name ?? 'Unnamed passkey';
      const dates = document.createElement('span');
      dates.className = 'note passkey-dates';
      const lastUsed = passkey.lastUsedAt ? new Date(passkey.lastUsedAt).toLocaleString() : 'never';
      dates.textContent = ` added ${new Date(passkey.createdAt).toLocaleString()}, last used ${lastUsed} `;
      const remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'delete-passkey';
      remove.textContent = 'Delete';
      remove.addEventListener('click', () => {
        void act(async () => {
          await deletePasskey(passkey.id);
          return showProfile();
        });
      });
      item.append(name, dates, remove);
      return item;
    }),
  );
}

const FIELD_LABELS = { email: 'Email', newPassword: 'New password' };

/** What to tell the user about a failure: the link's state, the fields' messages, or the error's message. */
function describe(error) {
  if (CombinedGraphQLErrors.is(error)) {
    const { message, extensions } = error.errors[0];
    if (extensions?.reason === 'TOKEN_INVALID' || extensions?.reason === 'TOKEN_EXPIRED') return 'This link is invalid or expired.';
    if (extensions?.code === 'BAD_USER_INPUT' && extensions.fields) {
      return Object.entries(extensions.fields)
        .map(([field, fieldMessage]) => `${FIELD_LABELS[field] ?? field} ${String(fieldMessage)}.`)
        .join(' ');
    }
    return message;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs one user action: a loading state meanwhile, then the state it returns, or on failure its
 * message and the state `onError` names (by default still signed in when only the request failed,
 * not the session).
 */
async function act(action, onError = null) {
  errorLine.textContent = '';
  notice.textContent = '';
  show('loading');
  try {
    show(await action());
  } catch (error) {
    errorLine.textContent = describe(error);
    show(onError ? onError() : hasAccessToken() ? 'signed-in' : 'signed-out');
  }
}

async function showProfile() {
  render(await loadProfile());
  return 'signed-in';
}

/** The token of a mailed link, from the URL fragment (never sent to a server), then dropped from the address bar and history. */
function takeLinkToken() {
  const token = new URLSearchParams(location.hash.slice(1)).get('token');
  if (location.hash) globalThis.history.replaceState(null, '', location.pathname);
  return token;
}

const loginForm = document.forms.namedItem('login-form');
loginForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const form = new FormData(loginForm);
  void act(async () => {
    // False: the password was right and the account has TOTP on; the code form finishes the login.
    if (!(await logIn(String(form.get('email')), String(form.get('password'))))) {
      mfaForm.reset();
      return 'mfa';
    }
    return showProfile();
  });
});

const mfaForm = document.forms.namedItem('mfa-form');
mfaForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = String(new FormData(mfaForm).get('code'));
  let restart = false;
  void act(
    async () => {
      try {
        await verifyMfa(code);
      } catch (error) {
        // The challenge is used up, ended (five wrong codes) or expired: back to the password.
        const reason = CombinedGraphQLErrors.is(error) ? error.errors[0]?.extensions?.reason : undefined;
        if (reason === 'TOKEN_INVALID' || reason === 'TOKEN_EXPIRED') {
          restart = true;
          throw new Error('The sign-in has expired; sign in again.', { cause: error });
        }
        throw error;
      }
      return showProfile();
    },
    // A wrong code: the same challenge takes another one.
    () => (restart ? 'signed-out' : 'mfa'),
  );
});

document.getElementById('mfa-cancel').addEventListener('click', () => {
  cancelMfa();
  errorLine.textContent = '';
  show('signed-out');
});

document.getElementById('passkey-login').addEventListener('click', () => {
  void act(async () => {
    await logInWithPasskey();
    return showProfile();
  });
});

document.getElementById('enroll-totp').addEventListener('click', () => {
  void act(async () => {
    const { secret, otpauthUri } = await enrollTotp();
    // Drawn in the page: the seed never goes to a QR code service.
    const qr = await QRCode.toDataURL(otpauthUri, { errorCorrectionLevel: 'M', margin: 2, scale: 6 });
    const state = await showProfile();
    document.getElementById('totp-qr').setAttribute('src', qr);
    document.getElementById('totp-secret').textContent = secret;
    document.getElementById('enroll-totp').hidden = true;
    document.getElementById('totp-enrolment').hidden = false;
    return state;
  });
});

const confirmTotpForm = document.forms.namedItem('confirm-totp-form');
confirmTotpForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = String(new FormData(confirmTotpForm).get('code'));
  const enrolment = document.getElementById('totp-enrolment');
  void act(
    async () => {
      const recoveryCodes = await confirmTotp(code);
      confirmTotpForm.reset();
      const state = await showProfile();
      document.getElementById('recovery-codes').replaceChildren(
        ...recoveryCodes.map((recoveryCode) => {
          const item = document.createElement('li');
          item.textContent = recoveryCode;
          return item;
        }),
      );
      document.getElementById('recovery').hidden = false;
      notice.textContent = 'Two-step sign-in is on.';
      return state;
    },
    // A wrong code: the enrolment (QR code, secret) stays for another try.
    () => {
      enrolment.hidden = false;
      return 'signed-in';
    },
  );
});

const disableTotpForm = document.forms.namedItem('disable-totp-form');
disableTotpForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const code = String(new FormData(disableTotpForm).get('code'));
  void act(async () => {
    await disableTotp(code);
    disableTotpForm.reset();
    const state = await showProfile();
    notice.textContent = 'Two-step sign-in is off.';
    return state;
  });
});

const passkeyForm = document.forms.namedItem('passkey-form');
passkeyForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const name = String(new FormData(passkeyForm).get('name')).trim();
  void act(async () => {
    await registerPasskey(name);
    passkeyForm.reset();
    const state = await showProfile();
    notice.textContent = 'Passkey added.';
    return state;
  });
});

document.getElementById('reload-profile').addEventListener('click', () => {
  void act(showProfile);
});

document.getElementById('resend-verification').addEventListener('click', () => {
  void act(async () => {
    const sent = await resendVerificationEmail();
    const state = await showProfile();
    notice.textContent = sent ? 'A new verification link is on its way.' : 'This address is already verified.';
    return state;
  });
});

document.getElementById('sign-out').addEventListener('click', () => {
  void act(async () => {
    await logOut();
    return 'signed-out';
  });
});

const forgotForm = document.forms.namedItem('forgot-form');
forgotForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const email = String(new FormData(forgotForm).get('email'));
  void act(
    async () => {
      await requestPasswordReset(email);
      // The same answer for any address: the API does not tell whether it has an account.
      notice.textContent = `If an account exists for ${email}, a link to reset its password is on its way.`;
      return 'forgot-password';
    },
    () => 'forgot-password',
  );
});

let resetToken = null;
const resetForm = document.forms.namedItem('reset-form');
resetForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const newPassword = String(new FormData(resetForm).get('newPassword'));
  void act(
    async () => {
      await resetPassword(resetToken ?? '', newPassword);
      // Signed in, as after a login: continue on the app's main page.
      globalThis.history.replaceState(null, '', './');
      return showProfile();
    },
    () => 'reset-password',
  );
});

const route = location.pathname.split('/').pop();
if (route === 'forgot-password') {
  show('forgot-password');
} else if (route === 'reset-password') {
  resetToken = takeLinkToken();
  show('reset-password');
  if (!resetToken) errorLine.textContent = 'This link is invalid or expired.';
} else if (route === 'verify-email') {
  const token = takeLinkToken();
  void act(
    async () => {
      if (!token) throw new Error('This link is invalid or expired.');
      await verifyEmail(token);
      notice.textContent = 'Your email address is verified.';
      return 'verify-email';
    },
    () => 'verify-email',
  );
} else {
  // The access token died with the previous page; the HttpOnly cookie restores the session.
  void act(async () => ((await restoreSession()) ? showProfile() : 'signed-out'));
}
