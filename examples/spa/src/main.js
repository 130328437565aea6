// The page: a sign-in form, the signed-in user's profile, and the session calls from session.js.
import { hasAccessToken, loadProfile, logIn, logOut, restoreSession, tokenExpiresAt } from './session.js';

const main = document.querySelector('main');
const errorLine = document.getElementById('error');

function show(state) {
  main.dataset.state = state;
  document.getElementById('loading').hidden = state !== 'loading';
  document.getElementById('signed-out').hidden = state !== 'signed-out';
  document.getElementById('signed-in').hidden = state !== 'signed-in';
}

function render(me) {
  document.getElementById('me-name').textContent = me.name;
  document.getElementById('me-email').textContent = me.email;
  document.getElementById('me-role').textContent = me.role;
  document.getElementById('token-expires-at').textContent = tokenExpiresAt()?.toLocaleTimeString() ?? '';
}

/**
 * Runs one user action: a loading state meanwhile, then the state it returns, or on failure its
 * message (still signed in when only the request failed, not the session).
 */
async function act(action) {
  errorLine.textContent = '';
  show('loading');
  try {
    show(await action());
  } catch (error) {
    errorLine.textContent = error instanceof Error ? error.message : String(error);
    show(hasAccessToken() ? 'signed-in' : 'signed-out');
  }
}

async function showProfile() {
  render(await loadProfile());
  return 'signed-in';
}

const loginForm = document.querySelector('form');
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

document.getElementById('sign-out').addEventListener('click', () => {
  void act(async () => {
    await logOut();
    return 'signed-out';
  });
});

// The access token died with the previous page; the HttpOnly cookie restores the session.
void act(async () => ((await restoreSession()) ? showProfile() : 'signed-out'));
