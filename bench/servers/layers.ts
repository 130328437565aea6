// The lowest rungs of `npm run bench:profile`'s ladder, in their own process: LAYER=plain is a bare
// node:http server, LAYER=express is Express 5 with the project's own security headers
// (src/http/security-headers.ts, production settings). Both answer every request with the JSON a
// `me` query returns, so the ladder's next rungs differ only by what the project adds.
import express from 'express';
import http from 'node:http';
import { securityHeaders } from '../../src/http/security-headers';

const BODY = JSON.stringify({
  data: { me: { id: '0192f5a4-0000-7000-8000-000000000000', email: 'profile@example.com', name: 'Profile', role: 'USER' } },
});

function plain(): http.Server {
  return http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(BODY) });
    res.end(BODY);
  });
}

function withExpress(): http.Server {
  const app = express();
  app.disable('x-powered-by');
  app.use(securityHeaders(true));
  app.use((_req, res) => {
    res.type('application/json').send(BODY);
  });
  return http.createServer(app);
}

const layer = process.env['LAYER'];
if (layer !== 'plain' && layer !== 'express') throw new Error(`LAYER must be plain or express, not ${String(layer)}`);
const server = layer === 'plain' ? plain() : withExpress();
server.listen(Number(process.env['PORT']), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
