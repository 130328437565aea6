// The REST design this project replaces, at its best: Express 5, jsonwebtoken with a prebuilt
// KeyObject, pg with a pool, bcryptjs on the main thread. GET /users/me verifies the token and
// reads the user by primary key; POST /login compares the password and signs a token.
import bcrypt from 'bcryptjs';
import express from 'express';
import jwt from 'jsonwebtoken';
import { createSecretKey, randomUUID } from 'node:crypto';
import { Pool } from 'pg';

const secret = process.env['JWT_ACCESS_SECRET'];
if (!secret) throw new Error('JWT_ACCESS_SECRET is not set');
const key = createSecretKey(Buffer.from(secret));
const pool = new Pool({ connectionString: process.env['DATABASE_URL'], max: 10 });
const app = express();
app.disable('x-powered-by');
app.use(express.json({ limit: '100kb' }));

app.get('/users/me', async (req, res) => {
  const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
  let sub: string;
  try {
    const claims = jwt.verify(token ?? '', key, { algorithms: ['HS256'], issuer: 'baseline', audience: 'baseline' }) as jwt.JwtPayload;
    if (typeof claims.sub !== 'string') throw new Error('no subject');
    sub = claims.sub;
  } catch {
    res.status(401).json({ error: 'unauthenticated' });
    return;
  }
  const { rows } = await pool.query('select id, email, name, role from users where id = $1', [sub]);
  if (!rows[0]) {
    res.status(401).json({ error: 'unauthenticated' });
    return;
  }
  res.json(rows[0]);
});

app.post('/login', async (req, res) => {
  const { email, password } = req.body as { email: string; password: string };
  const { rows } = await pool.query<{ id: string; password_hash: string; role: string }>(
    'select id, password_hash, role from users where email = $1',
    [email],
  );
  const user = rows[0];
  if (!user || !(await bcrypt.compare(password, user.password_hash))) {
    res.status(401).json({ error: 'invalid credentials' });
    return;
  }
  const token = jwt.sign({ sub: user.id, role: user.role, jti: randomUUID() }, key, {
    algorithm: 'HS256',
    expiresIn: '15m',
    issuer: 'baseline',
    audience: 'baseline',
  });
  res.json({ accessToken: token });
});

app.get('/readyz', (_req, res) => {
  res.json({ status: 'ready' });
});

const server = app.listen(Number(process.env['PORT']), '127.0.0.1');
process.once('SIGTERM', () => {
  server.close(() => void pool.end().then(() => process.exit(0)));
});
