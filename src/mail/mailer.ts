import { createTransport, type Mail as Transporter } from 'nodemailer';
import type { Logger } from '../logger';

export interface Mail {
  readonly to: string;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** Sends one message, or throws; never waits longer than its deadlines. */
export interface Mailer {
  send(mail: Mail): Promise<void>;
  close(): void;
}

/** SMTP deadlines: connecting, the server's greeting, and any silence on the socket. */
export const SMTP_TIMEOUTS_MS = Object.freeze({ connection: 10_000, greeting: 10_000, socket: 20_000 });

/** Through an SMTP server (SMTP_URL: smtp:// or smtps://, credentials in the URL). */
export class SmtpMailer implements Mailer {
  private readonly transport: Transporter;

  constructor(
    url: string,
    private readonly from: string,
  ) {
    this.transport = createTransport({
      url,
      connectionTimeout: SMTP_TIMEOUTS_MS.connection,
      greetingTimeout: SMTP_TIMEOUTS_MS.greeting,
      socketTimeout: SMTP_TIMEOUTS_MS.socket,
    });
  }

  async send(mail: Mail): Promise<void> {
    await this.transport.sendMail({ from: this.from, to: mail.to, subject: mail.subject, text: mail.text, html: mail.html });
  }

  close(): void {
    this.transport.close();
  }
}

/**
 * Development without SMTP_URL (or SMTP_URL=log on purpose): each message is written to the log,
 * links included, so a newcomer on the embedded database can follow them.
 */
export class LogMailer implements Mailer {
  constructor(
    private readonly from: string,
    private readonly logger: Logger,
  ) {}

  send(mail: Mail): Promise<void> {
    this.logger.info(
      { mail: { from: this.from, to: mail.to, subject: mail.subject, text: mail.text } },
      `mail to ${mail.to}: ${mail.subject}`,
    );
    return Promise.resolve();
  }

  close(): void {
    // Nothing open.
  }
}
