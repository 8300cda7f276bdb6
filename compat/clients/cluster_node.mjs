// ioredis Cluster (with its default ready check, CLUSTER INFO's cluster_state:ok) and
// node-redis createCluster, both at their defaults, against a three-node cluster.
// Every reply asserted; prints `ok - ...` / `not ok - ...` lines.
//   node clients/cluster_node.mjs LABEL HOST:PORT,HOST:PORT,HOST:PORT
import Redis from 'ioredis';
import { createCluster } from 'redis';
import { createRequire } from 'node:module';
import { run, eq } from './assert.mjs';

const [label, list] = process.argv.slice(2);
const nodes = list.split(',').map((a) => ({
  host: a.slice(0, a.lastIndexOf(':')),
  port: Number(a.slice(a.lastIndexOf(':') + 1)),
}));
const require = createRequire(import.meta.url);
console.log(
  `# ioredis ${require('ioredis/package.json').version}, node-redis ` +
    `${require('redis/package.json').version} against the ${label} cluster`,
);
const N = 3000;
const keys = Array.from({ length: N }, (_, i) => `node:${i}`);

async function rejectsWith(promise, message) {
  try {
    await promise;
  } catch (e) {
    eq(e.message, message);
    return;
  }
  throw new Error(`no error, wanted ${message}`);
}

await run(`ioredis Cluster [${label}] ready check, ${N} keys, routing`, async () => {
  const c = new Redis.Cluster(nodes, { clusterRetryStrategy: (n) => (n > 3 ? null : 100) });
  c.on('error', (e) => console.log(`    (client error event: ${e.message})`));
  await new Promise((resolve, reject) => {
    c.once('ready', resolve);
    c.once('end', () => reject(new Error('connection ended before ready')));
  });
  eq(c.status, 'ready');
  eq(c.nodes('master').map((n) => n.options.port).sort(), nodes.map((n) => n.port).sort());
  await Promise.all(c.nodes('master').map((n) => n.flushall()));
  eq(await Promise.all(keys.map((k, i) => c.set(k, String(i)))), keys.map(() => 'OK'));
  eq(await Promise.all(keys.map((k) => c.get(k))), keys.map((_, i) => String(i)));
  const sizes = await Promise.all(c.nodes('master').map((n) => n.dbsize()));
  eq(sizes.reduce((a, b) => a + b, 0), N);
  // Hash-tagged multi-key commands and a pipeline within one slot.
  eq(await c.mset('{t}a', '1', '{t}b', '2'), 'OK');
  eq(await c.mget('{t}a', '{t}b', '{t}c'), ['1', '2', null]);
  eq(await c.pipeline().set('{p}x', 'x').incr('{p}n').get('{p}x').exec(), [
    [null, 'OK'],
    [null, 1],
    [null, 'x'],
  ]);
  // Keys of different slots: ioredis sends to the first key's node, Redis refuses.
  await rejectsWith(c.mget('b', 'foo'), "CROSSSLOT Keys in request don't hash to the same slot");
  eq(await c.cluster('KEYSLOT', 'foo'), 12182);
  eq((await c.cluster('SLOTS')).length, 3);
  const info = await c.cluster('INFO');
  eq(info.split('\r\n').slice(0, 2), ['cluster_state:ok', 'cluster_slots_assigned:16384']);
  // A plain connection to node 1 sees the MOVED that the cluster client follows.
  const plain = new Redis({ ...nodes[0], lazyConnect: true });
  await plain.connect();
  await rejectsWith(plain.get('foo'), `MOVED 12182 ${nodes[2].host}:${nodes[2].port}`);
  eq(await plain.readonly(), 'OK');
  eq(await plain.readwrite(), 'OK');
  await plain.quit();
  await c.quit();
}, 120000);

await run(`node-redis createCluster [${label}] ${N} keys, routing, hash tags`, async () => {
  const c = createCluster({ rootNodes: [{ url: `redis://${nodes[0].host}:${nodes[0].port}` }] });
  c.on('error', (e) => console.log(`    (client error event: ${e.message})`));
  await c.connect();
  eq(c.masters.map((m) => m.port).sort(), nodes.map((n) => n.port).sort());
  eq(await Promise.all(keys.map((k, i) => c.set(k, `v${i}`))), keys.map(() => 'OK'));
  eq(await Promise.all(keys.map((k) => c.get(k))), keys.map((_, i) => `v${i}`));
  eq(await c.mSet(['{u}1', 'a', '{u}2', 'b']), 'OK');
  eq(await c.mGet(['{u}1', '{u}2', '{u}3']), ['a', 'b', null]);
  // Commands of one slot sent together (node-redis pipelines them on one socket).
  eq(await Promise.all([c.set('{m}a', '1'), c.incr('{m}b'), c.get('{m}a')]), ['OK', 1, '1']);
  eq(await c.sendCommand('foo', true, ['CLUSTER', 'KEYSLOT', 'foo']), 12182);
  await c.close();
}, 120000);
