// node-redis (URL with user and password, RESP3 by default: HELLO 3 AUTH) and ioredis
// (username/password options, AUTH user pass) logging in to a server started with
// compat/acl/users.acl; denials asserted.
// With a TLS address, both also over TLS presenting a client certificate.
//   node clients/acl_node.mjs LABEL HOST:PORT [TLS_HOST:PORT SERVER_CA CLIENT_CERT CLIENT_KEY]
import { createClient } from 'redis';
import Redis from 'ioredis';
import { readFileSync } from 'node:fs';
import { run, eq, rejects } from './assert.mjs';

const [label, addr, tlsAddr, caFile, certFile, keyFile] = process.argv.slice(2);
const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];

await run(`node-redis [${label}] URL with user and password`, async () => {
  const c = createClient({ url: `redis://app:app-pw@${addr}` });
  c.on('error', () => {});
  await c.connect();
  eq(await c.set('app:n', 'v'), 'OK');
  eq(await c.get('app:n'), 'v');
  await rejects(() => c.get('other'),
    'NOPERM this user has no permissions to access one of the keys used as arguments');
  await c.close();
});

await run(`node-redis [${label}] default user password in URL`, async () => {
  const c = createClient({ url: `redis://:compat-secret@${addr}` });
  c.on('error', () => {});
  await c.connect();
  eq(await c.sendCommand(['ACL', 'WHOAMI']), 'default');
  await c.close();
});

await run(`ioredis [${label}] username and password`, async () => {
  const r = new Redis({ host, port, username: 'reader', password: 'ro-pw', lazyConnect: true });
  await r.connect();
  eq(await r.get('missing'), null);
  await rejects(() => r.set('k', 'v'), "NOPERM this user has no permissions to run the 'set' command");
  r.disconnect();
});

await run(`ioredis [${label}] password only`, async () => {
  const r = new Redis({ host, port, password: 'compat-secret', lazyConnect: true });
  await r.connect();
  eq(await r.call('ACL', 'WHOAMI'), 'default');
  r.disconnect();
});

if (tlsAddr) {
  const tlsPort = Number(tlsAddr.slice(tlsAddr.lastIndexOf(':') + 1));
  const tls = {
    ca: readFileSync(caFile),
    cert: readFileSync(certFile),
    key: readFileSync(keyFile),
    servername: 'localhost',
  };

  await run(`node-redis [${label}] TLS with a client certificate, URL with user and password`, async () => {
    const c = createClient({
      url: `rediss://app:app-pw@localhost:${tlsPort}`,
      socket: { tls: true, ...tls },
    });
    c.on('error', () => {});
    await c.connect();
    eq(await c.set('app:tls', 'v'), 'OK');
    eq(await c.get('app:tls'), 'v');
    await c.close();
  });

  await run(`ioredis [${label}] TLS with a client certificate, password`, async () => {
    const r = new Redis({ host: 'localhost', port: tlsPort, password: 'compat-secret', tls, lazyConnect: true });
    await r.connect();
    eq(await r.call('ACL', 'WHOAMI'), 'default');
    r.disconnect();
  });
}
