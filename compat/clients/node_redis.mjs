// node-redis scenarios at default settings (RESP3: the client opens with HELLO 3):
// connect, commands, a pipeline, pub/sub with patterns. Every reply asserted.
//   node clients/node_redis.mjs LABEL HOST:PORT
import { createClient } from 'redis';
import { createRequire } from 'node:module';
import { run, eq, rejects, sleep, waitFor } from './assert.mjs';

const [label, addr] = process.argv.slice(2);
const url = `redis://${addr}`;
const version = createRequire(import.meta.url)('redis/package.json').version;
console.log(`# node-redis ${version} against ${label}`);

function client(extra = {}) {
  const c = createClient({ url, ...extra });
  c.on('error', (e) => console.log(`    (client error event: ${e.message})`));
  return c;
}

await run(`node-redis [${label}] connect and basics`, async () => {
  const c = client();
  await c.connect();
  eq(await c.ping(), 'PONG');
  await c.flushAll();
  eq(await c.set('k', 'v'), 'OK');
  eq(await c.get('k'), 'v');
  eq(await c.get('missing'), null);
  eq(await c.sendCommand(['HELLO', '3']).then((h) => h.proto), 3);
  await c.close();
});

await run(`node-redis [${label}] commands`, async () => {
  const c = client();
  await c.connect();
  await c.flushAll();
  eq(await c.echo('hi'), 'hi');
  eq(await c.set('s', '1', { condition: 'NX' }), 'OK');
  eq(await c.set('s', '2', { condition: 'NX' }), null);
  eq(await c.set('s', '3', { condition: 'XX', GET: true }), '1');
  eq(await c.set('e', 'v', { expiration: { type: 'PX', value: 50 } }), 'OK');
  await sleep(150);
  eq(await c.get('e'), null);
  eq(await c.exists(['s', 'e', 's']), 2);
  eq(await c.incr('n'), 1);
  eq(await c.decr('n'), 0);
  eq(await c.mSet({ a: '1', b: '2' }), 'OK');
  eq(await c.mGet(['a', 'b', 'c']), ['1', '2', null]);
  eq(await c.dbSize(), 4);
  eq((await c.keys('*')).sort(), ['a', 'b', 'n', 's']);
  eq(await c.del(['a', 'b', 'zz']), 2);
  const bin = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
  eq(await c.set(bin, bin), 'OK');
  eq(Buffer.compare(await c.withTypeMapping({ [36]: Buffer }).get(bin), bin), 0);
  eq(await c.clientSetName('node'), 'OK');
  eq(await c.clientGetName(), 'node');
  eq(typeof (await c.clientId()), 'number');
  eq(await c.set('str', 'abc'), 'OK');
  await rejects(() => c.incr('str'), 'ERR value is not an integer or out of range');
  await rejects(() => c.sendCommand(['GET']), "ERR wrong number of arguments for 'get' command");
  await rejects(() => c.sendCommand(['NOPE', 'x']),
    "ERR unknown command 'NOPE', with args beginning with: 'x' ");
  await c.select(1); // node-redis hides SELECT's +OK: the next GET shows it worked
  eq(await c.get('s'), null);
  eq(await c.flushDb(), 'OK');
  await c.close();
});

await run(`node-redis [${label}] pipeline`, async () => {
  const c = client();
  await c.connect();
  await c.flushAll();
  const m = c.multi();
  const want = [];
  for (let i = 0; i < 1000; i++) {
    m.set(`k${i}`, `v${i}`).get(`k${i}`).incr('count').get(`none${i}`);
    want.push('OK', `v${i}`, i + 1, null);
  }
  eq(await m.execAsPipeline(), want);
  // Commands issued in one tick go out as one pipeline too.
  const got = await Promise.all([c.set('p', '1'), c.get('p'), c.incr('p'), c.get('nope')]);
  eq(got, ['OK', '1', 2, null]);
  await c.close();
});

await run(`node-redis [${label}] pub/sub with patterns`, async () => {
  const c = client();
  await c.connect();
  const sub = c.duplicate();
  sub.on('error', (e) => console.log(`    (subscriber error event: ${e.message})`));
  await sub.connect();
  const got = [];
  await sub.subscribe('news', (msg, ch) => got.push(['message', ch, msg]));
  await sub.pSubscribe('sport.*', (msg, ch) => got.push(['pmessage', ch, msg]));
  eq(await c.publish('news', 'n1'), 1);
  eq(await c.publish('sport.tennis', 's1'), 1);
  eq(await c.publish('nobody', 'x'), 0);
  await waitFor(() => got.length >= 2);
  eq(got, [['message', 'news', 'n1'], ['pmessage', 'sport.tennis', 's1']]);
  // The subscriber keeps running commands: RESP3 has no subscribed mode.
  eq(await sub.ping(), 'PONG');
  await sub.unsubscribe('news');
  await sub.pUnsubscribe('sport.*');
  eq(await c.publish('news', 'late'), 0);
  await sub.close();
  await c.close();
});

process.exit(process.exitCode ?? 0);
