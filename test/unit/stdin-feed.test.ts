import { PassThrough, Writable } from 'node:stream';
import { readAll, StdinFeed } from '../../src/houyi/stdin-feed.js';

// One local stdin fanned out to many channels: late joiners get everything, slow ones are written
// at their own pace, the input cap ends the feed and is reported.

function collector(highWaterMark = 16 * 1024): { w: Writable; text: () => string; ended: Promise<void> } {
  let buf = '';
  let end!: () => void;
  const ended = new Promise<void>((r) => (end = r));
  const w = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, cb) {
      buf += chunk.toString();
      setImmediate(cb);
    },
    final(cb) {
      end();
      cb();
    },
  });
  return { w, text: () => buf, ended };
}

test('early and late sinks get the whole input, then EOF', async () => {
  const src = new PassThrough();
  const feed = new StdinFeed(src);
  const a = collector();
  feed.attach(a.w);
  src.write('one\n');
  await new Promise((r) => setImmediate(r));
  const b = collector();
  feed.attach(b.w);
  src.end('two\n');
  await Promise.all([a.ended, b.ended]);
  const c = collector();
  feed.attach(c.w);
  await c.ended;
  expect([a.text(), b.text(), c.text()]).toEqual(['one\ntwo\n', 'one\ntwo\n', 'one\ntwo\n']);
  expect(feed.overflow).toBe(false);
});

test('a slow sink (tiny buffer) still gets every byte in order', async () => {
  const src = new PassThrough();
  const feed = new StdinFeed(src);
  const slow = collector(1);
  feed.attach(slow.w);
  const parts = Array.from({ length: 200 }, (_, i) => `${i},`);
  for (const p of parts) src.write(p);
  src.end();
  await slow.ended;
  expect(slow.text()).toBe(parts.join(''));
});

test('input past the cap: the sinks get EOF early and the feed says so', async () => {
  const src = new PassThrough();
  const feed = new StdinFeed(src, 10);
  const a = collector();
  feed.attach(a.w);
  src.write('12345');
  src.write('6789012345');
  await a.ended;
  expect(a.text()).toBe('12345');
  expect(feed.overflow).toBe(true);
});

test('a detached sink is written no more; close() stops reading', async () => {
  const src = new PassThrough();
  const feed = new StdinFeed(src);
  const a = collector();
  const detach = feed.attach(a.w);
  src.write('x');
  await new Promise((r) => setImmediate(r));
  detach();
  src.write('y');
  await new Promise((r) => setImmediate(r));
  feed.close();
  expect(a.text()).toBe('x');
  expect(src.listenerCount('data')).toBe(0);
});

test('readAll: whole input, or null past the cap', async () => {
  const s1 = new PassThrough();
  s1.end('abc');
  expect((await readAll(s1))?.toString()).toBe('abc');
  const s2 = new PassThrough();
  s2.end('abcdef');
  expect(await readAll(s2, 3)).toBeNull();
});
