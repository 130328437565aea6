// The page: a sign-in form, the signed-in user's profile, the pages of the mailed links (reset a
// password, verify an address), and the session calls from session.js. One HTML page for every path:
// the last segment of location.pathname picks what it shows.
import { CombinedGraphQLErrors } from '@apollo/client';
import {
  hasAccessToken,
  loadProfile,
  logIn,
  logOut,
  requestPasswordReset,
  resendVerificationEmail,
  resetPassword,
  restoreSession,
  tokenExpiresAt,
  verifyEmail,
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

function render(me) {
  document.getElementById('me-name').textContent = me.name;
  document.getElementById('me-email').textContent = me.email;
  const verified = document.getElementById('me-email-verified');
  verified.textContent = me.emailVerified ? '(verified)' : '(not verified)';
  verified.dataset.verified = String(me.emailVerified);
  document.getElementById('resend-verification').hidden = me.emailVerified;
  document.getElementById('me-role').textContent = me.role;
  document.getElementById('token-expires-at').textContent = tokenExpiresAt()?.toLocaleTimeString() ?? '';
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
    await logIn(String(form.get('email')), String(form.get('password')));
    return showProfile();
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
