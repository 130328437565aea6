import type http from 'node:http';
import net from 'node:net';
import type { Logger } from '../logger';

interface Connection {
  /** The responses on it that have not ended, oldest first (more than one only when the client pipelines). */
  readonly responses: http.ServerResponse[];
  /** Requests it has carried. */
  served: number;
  /** `socket.bytesRead` when its last response ended (0 for a new connection). */
  bytesReadAtRest: number;
}

/**
 * Shutdown as a load balancer expects it, in two steps.
 *
 * `begin()` (on SIGTERM): readiness answers 503 at once, so the balancer stops sending; the
 * listener keeps accepting (connections already in the kernel's backlog, or sent before the
 * balancer noticed, are still served); every response from now on says `Connection: close`, and
 * idle keep-alive connections are closed.
 *
 * `close(graceMs)` (after SHUTDOWN_DELAY): the listener closes, then the connections that hold no
 * request and received no bytes close; every request whose bytes arrived is answered. Connections
 * still open after `graceMs` are closed and `timedOut` says so.
 *
 * Node's own `server.close()` (and Apollo's drain plugin, which calls it) closes every connection
 * that has no parsed request at once: a client whose request was on the wire, or accepted but not
 * yet read, got ECONNRESET. Here only the listener is closed, and a connection counts as idle
 * only when no byte arrived on it since its last response.
 */
export class HttpDrain {
  private readonly connections = new Map<net.Socket, Connection>();
  private isDraining = false;
  private closing: Promise<void> | undefined;
  /** True once shutdown had to cut off connections (or operations) at the end of the grace period. */
  timedOut = false;

  constructor(
    private readonly server: http.Server,
    private readonly logger: Logger,
  ) {
    server.on('connection', (socket: net.Socket) => {
      this.track(socket);
    });
    // Before the application's listener, so the header is set before anything is written.
    //
    // A response is kept only in its connection's own array, never in a Set or Map of the whole
    // server: V8 allocates a grown Set's new table where the old one lives, and a replaced table
    // keeps the entries it had. Once such a Set lived in the old generation, every response in
    // flight at a rehash stayed reachable from a dead old table until the next full collection,
    // and with it its request's whole object graph: a third of each request's allocations then
    // survived the young generation (docs/performance.md, "Garbage that outlives its request").
    server.prependListener('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
      const connection = this.connections.get(req.socket) ?? this.track(req.socket);
      connection.served++;
      connection.responses.push(res);
      if (this.draining) res.setHeader('connection', 'close');
      res.once('close', () => {
        const at = connection.responses.indexOf(res);
        if (at >= 0) connection.responses.splice(at, 1);
        connection.bytesReadAtRest = req.socket.bytesRead;
      });
    });
  }

  /** Starts keeping a connection's state (a connection accepted before this drain existed: at its first request). */
  private track(socket: net.Socket): Connection {
    const connection: Connection = { served: 0, bytesReadAtRest: 0, responses: [] };
    if (socket.destroyed) return connection; // already gone: 'close' has been emitted
    this.connections.set(socket, connection);
    socket.once('close', () => this.connections.delete(socket));
    return connection;
  }

  get draining(): boolean {
    return this.isDraining;
  }

  /** Readiness fails from now on; responses close their connections; idle keep-alive connections close. */
  begin(): void {
    if (this.isDraining) return;
    this.isDraining = true;
    for (const { responses } of this.connections.values()) {
      for (const res of responses) if (!res.headersSent) res.setHeader('connection', 'close');
    }
    // A new connection may be a balancer's, about to send its first request: it is answered, then closed.
    this.closeIdle((connection) => connection.served > 0);
  }

  /**
   * Stops accepting, waits for every connection to finish (at most `graceMs`), and resolves once
   * the last one has closed.
   */
  close(graceMs: number): Promise<void> {
    this.begin();
    this.closing ??= new Promise<void>((resolve) => {
      if (!this.server.listening) {
        resolve();
        return;
      }
      const grace = setTimeout(() => {
        this.timedOut = true;
        this.logger.error(
          { graceMs, connections: this.connections.size, requests: this.requestsInFlight() },
          'graceful shutdown timed out; closing the connections still open',
        );
        for (const socket of this.connections.keys()) socket.destroy();
      }, graceMs);
      // net.Server's close, not http.Server's: stop listening, leave the connections alone.
      // Its callback runs once the last connection has closed.
      net.Server.prototype.close.call(this.server, () => {
        clearTimeout(grace);
        resolve();
      });
      // One turn of the event loop reads whatever already arrived on every connection; those
      // still without a byte (and without a request) are idle and close now.
      setImmediate(() => {
        this.closeIdle(() => true);
      });
    });
    return this.closing;
  }

  private requestsInFlight(): number {
    let requests = 0;
    for (const connection of this.connections.values()) requests += connection.responses.length;
    return requests;
  }

  private closeIdle(which: (connection: Connection) => boolean): void {
    for (const [socket, connection] of this.connections) {
      if (connection.responses.length === 0 && socket.bytesRead === connection.bytesReadAtRest && which(connection)) socket.destroy();
    }
  }
}
