import { simpleParser } from 'mailparser';
import { createServer } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { pollUntil } from './eventually';

/** One message as the SMTP server received it, parsed. */
export interface ReceivedMail {
  readonly to: string;
  readonly from: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/**
 * A real SMTP server of the test's own on a spare port of 127.0.0.1 (smtp-server, from the
 * nodemailer project): it accepts any message without authentication and keeps it, parsed. It can
 * be stopped and started again on the same port, as an outage.
 */
export class TestSmtpServer {
  readonly received: ReceivedMail[] = [];
  private server: SMTPServer | undefined;

  private constructor(readonly port: number) {}

  static async start(): Promise<TestSmtpServer> {
    const smtp = new TestSmtpServer(await freePort());
    await smtp.start();
    return smtp;
  }

  /** The SMTP_URL of this server. */
  get url(): string {
    return `smtp://127.0.0.1:${String(this.port)}`;
  }

  async start(): Promise<void> {
    const server = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData: (stream, session, callback) => {
        simpleParser(stream)
          .then((parsed) => {
            const to = session.envelope.rcptTo.map((rcpt) => rcpt.address).join(', ');
            const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
            this.received.push({
              to,
              from,
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: parsed.html === false ? '' : (parsed.html ?? ''),
            });
            callback();
          })
          .catch((error: unknown) => {
            callback(error instanceof Error ? error : new Error(String(error)));
          });
      },
    });
    server.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => {
        resolve();
      });
    });
    this.server = server;
  }

  /** Stops accepting mail (connections are refused until `start`). */
  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) {
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    }
  }

  /** The messages to `to` so far. */
  to(to: string): ReceivedMail[] {
    return this.received.filter((mail) => mail.to === to);
  }

  /** Waits until `count` messages to `to` arrived, and returns them. */
  async waitFor(to: string, count = 1, timeoutMs = 30_000): Promise<ReceivedMail[]> {
    return pollUntil(
      `${String(count)} message(s) to ${to}`,
      () => {
        const mails = this.to(to);
        return Promise.resolve(mails.length >= count ? mails : undefined);
      },
      timeoutMs,
    );
  }
}

/** The token of the first link in a message: the value of `token=` in its query string or fragment. */
export function tokenIn(mail: ReceivedMail): string {
  const token = /[#?&]token=([A-Za-z0-9_-]+)/.exec(mail.text)?.[1];
  if (token === undefined) throw new Error(`no token in the message "${mail.subject}"`);
  return decodeURIComponent(token);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (typeof address === 'object' && address) resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}
