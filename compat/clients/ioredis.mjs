// ioredis scenarios at default settings (RESP2, INFO as a ready check): connect,
// commands, a pipeline, pub/sub with patterns. Every reply asserted.
//   node clients/ioredis.mjs LABEL HOST:PORT
import Redis from 'ioredis';
import { createRequire } from 'node:module';
import { run, eq, rejects, sleep, waitFor } from './assert.mjs';

const [label, addr] = process.argv.slice(2);
const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
const version = createRequire(import.meta.url)('ioredis/package.json').version;
console.log(`# ioredis ${version} against ${label}`);

const clients = [];
function client() {
  // Default settings; only reconnection is capped so a failure ends the run.
  const c = new Redis({ host, port, lazyConnect: true, retryStrategy: (n) => (n > 3 ? null : 100) });
  c.on('error', (e) => console.log(`    (client error event: ${e.message})`));
  clients.push(c);
  return c;
}

await run(`ioredis [${label}] connect and basics`, async () => {
  const c = client();
  await c.connect();
  eq(c.status, 'ready');
  eq(await c.ping(), 'PONG');
  await c.flushall();
  eq(await c.set('k', 'v'), 'OK');
  eq(await c.get('k'), 'v');
  eq(await c.get('missing'), null);
  await c.quit();
});

await run(`ioredis [${label}] commands`, async () => {
  const c = client();
  await c.connect();
  await c.flushall();
  eq(await c.echo('hi'), 'hi');
  eq(await c.ping('x'), 'x');
  eq(await c.set('s', '1', 'NX'), 'OK');
  eq(await c.set('s', '2', 'NX'), null);
  eq(await c.set('s', '3', 'XX', 'GET'), '1');
  eq(await c.set('e', 'v', 'PX', 50), 'OK');
  await sleep(150);
  eq(await c.get('e'), null);
  eq(await c.exists('s', 'e', 's'), 2);
  eq(await c.incr('n'), 1);
  eq(await c.decr('n'), 0);
  eq(await c.mset('a', '1', 'b', '2'), 'OK');
  eq(await c.mget('a', 'b', 'c'), ['1', '2', null]);
  eq(await c.dbsize(), 4);
  eq((await c.keys('*')).sort(), ['a', 'b', 'n', 's']);
  eq(await c.del('a', 'b', 'zz'), 2);
  const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  eq(await c.set(bin, bin), 'OK');
  eq(Buffer.compare(await c.getBuffer(bin), bin), 0);
  eq(await c.client('SETNAME', 'io'), 'OK');
  eq(await c.client('GETNAME'), 'io');
  eq(typeof (await c.client('ID')), 'number');
  eq(await c.set('str', 'abc'), 'OK');
  await rejects(() => c.incr('str'), 'ERR value is not an integer or out of range');
  await rejects(() => c.call('GET'), "ERR wrong number of arguments for 'get' command");
  await rejects(() => c.call('NOPE', 'x'), "ERR unknown command 'NOPE', with args beginning with: 'x' ");
  eq(await c.select(1), 'OK');
  eq(await c.get('s'), null);
  eq(await c.flushdb(), 'OK');
  await c.quit();
});

await run(`ioredis [${label}] pipeline`, async () => {
  const c = client();
  await c.connect();
  await c.flushall();
  const p = c.pipeline();
  const want = [];
  for (let i = 0; i < 1000; i++) {
    p.set(`k${i}`, `v${i}`).get(`k${i}`).incr('count').get(`none${i}`);
    want.push([null, 'OK'], [null, `v${i}`], [null, i + 1], [null, null]);
  }
  p.call('GET');
  want.push([new Error("ERR wrong number of arguments for 'get' command"), undefined]);
  const got = (await p.exec()).map(([e, v]) => [e && e.message, v]);
  eq(got, want.map(([e, v]) => [e && e.message, v]));
  await c.quit();
});

await run(`ioredis [${label}] pub/sub with patterns`, async () => {
  const c = client();
  const sub = client();
  await c.connect();
  await sub.connect();
  const got = [];
  sub.on('message', (ch, msg) => got.push(['message', ch, msg]));
  sub.on('pmessage', (pat, ch, msg) => got.push(['pmessage', pat, ch, msg]));
  eq(await sub.subscribe('news', 'weather'), 2);
  eq(await sub.psubscribe('sport.*'), 3);
  eq(await c.publish('news', 'n1'), 1);
  eq(await c.publish('sport.tennis', 's1'), 1);
  eq(await c.publish('nobody', 'x'), 0);
  await waitFor(() => got.length >= 2);
  eq(got, [['message', 'news', 'n1'], ['pmessage', 'sport.*', 'sport.tennis', 's1']]);
  // RESP2 subscribed mode: PING answers [pong, message], which ioredis unwraps.
  eq(await sub.ping(), 'PONG');
  eq(await sub.ping('x'), 'x');
  eq(await sub.unsubscribe('news'), 2);
  eq(await sub.punsubscribe('sport.*'), 1);
  eq(await c.publish('news', 'late'), 0);
  await sub.quit();
  await c.quit();
});

for (const c of clients) c.disconnect();
process.exit(process.exitCode ?? 0);
