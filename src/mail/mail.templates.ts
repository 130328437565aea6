import type { Mail } from './mailer';

/** Plain text and HTML of every message the service sends. Links carry their token in the fragment. */

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${String(char.codePointAt(0))};`);
}

function link(appUrl: string, path: string, token: string): string {
  return `${appUrl.replace(/\/$/, '')}${path}#token=${encodeURIComponent(token)}`;
}

function mail(to: string, subject: string, paragraphs: readonly string[], action?: { label: string; url: string }): Mail {
  const text = [...paragraphs, ...(action ? [`${action.label}: ${action.url}`] : [])].join('\n\n') + '\n';
  const html =
    '<!doctype html><html><body style="font-family: sans-serif">' +
    paragraphs.map((p) => `<p>${escapeHtml(p)}</p>`).join('') +
    (action ? `<p><a href="${escapeHtml(action.url)}">${escapeHtml(action.label)}</a></p>` : '') +
    '</body></html>';
  return { to, subject, text, html };
}

export function passwordResetMail(to: string, appUrl: string, token: string, ttlText: string): Mail {
  return mail(
    to,
    'Reset your password',
    [
      'Someone asked to reset the password of the account of this address. If it was you, follow the link to choose a new password.',
      `The link works once and expires in ${ttlText}. If you did not ask, ignore this message: your password stays as it is.`,
    ],
    { label: 'Choose a new password', url: link(appUrl, '/reset-password', token) },
  );
}

export function verificationMail(to: string, appUrl: string, token: string, ttlText: string): Mail {
  return mail(
    to,
    'Confirm your email address',
    [`Follow the link to confirm that this address is yours. It works once and expires in ${ttlText}.`],
    { label: 'Confirm this address', url: link(appUrl, '/verify-email', token) },
  );
}

export function emailChangeMail(to: string, appUrl: string, token: string, ttlText: string): Mail {
  return mail(
    to,
    'Confirm your new email address',
    [
      'Your account asked to use this address from now on. Follow the link to confirm it; until then the old address stays in use.',
      `The link works once and expires in ${ttlText}.`,
    ],
    { label: 'Confirm the new address', url: link(appUrl, '/verify-email', token) },
  );
}

export function emailChangeNotice(to: string): Mail {
  return mail(to, 'Your email address is being changed', [
    'Your account asked to change its email address away from this one. The change takes effect once the new address is confirmed.',
    'If you did not ask for this, sign in and change your password, or contact an administrator.',
  ]);
}

/** `1h` -> `1 hour`, `24h` -> `24 hours`, `30m` -> `30 minutes`, for the text of a message. */
export function durationText(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'minute'],
    [1000, 'second'],
  ];
  for (const [size, name] of units) {
    if (ms >= size && ms % size === 0) {
      const count = ms / size;
      return `${String(count)} ${name}${count === 1 ? '' : 's'}`;
    }
  }
  return `${String(Math.round(ms / 1000))} seconds`;
}
