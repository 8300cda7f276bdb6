// Tiny assertion helpers shared by the Node scenarios: each scenario prints one
// `ok - ...` / `not ok - ...` line, with the failure below it.
import { isDeepStrictEqual, inspect } from 'node:util';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function eq(got, want) {
  if (!isDeepStrictEqual(got, want)) {
    throw new Error(`got ${inspect(got)}, want ${inspect(want)}`);
  }
}

export async function rejects(fn, message) {
  try {
    await fn();
  } catch (e) {
    eq(e.message, message);
    return;
  }
  throw new Error(`no error, wanted ${inspect(message)}`);
}

export async function waitFor(cond, ms = 5000) {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

export async function run(name, fn, ms = 30000) {
  const started = Date.now();
  let timer;
  try {
    await Promise.race([
      fn(),
      new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`no answer in ${ms} ms`)), ms); }),
    ]);
    console.log(`ok - ${name} (${((Date.now() - started) / 1000).toFixed(2)}s)`);
  } catch (e) {
    process.exitCode = 1;
    console.log(`not ok - ${name}`);
    for (const line of String(e.stack ?? e).split('\n').slice(0, 8)) console.log(`    ${line}`);
  } finally {
    clearTimeout(timer);
  }
}
