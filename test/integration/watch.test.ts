import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jest } from '@jest/globals';
import { sharedLab, type TestLab } from '../support/lab.js';
import { rdsctlOnPty } from '../support/pty.js';

// `--watch` on the shared lab's real metadb: into a pipe the rounds are appended (a stream of JSON
// documents under -o json), on a terminal each round redraws the screen, Ctrl-C ends it with 130.
// Nothing here changes the lab.

jest.setTimeout(120_000);

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/rdsctl');
let lab: TestLab;

beforeAll(() => {
  lab = sharedLab();
});

async function until(what: string, ok: () => boolean, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const count = (s: string, sub: string) => s.split(sub).length - 1;

test('into a pipe: proxy status --watch 0.2 -o json appends a JSON document per round; SIGINT exits 130', async () => {
  const p = spawn(process.execPath, [BIN, 'proxy', 'status', '--watch', '0.2', '-o', 'json'], { env: lab.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exit = new Promise<number | null>((r) => p.on('exit', (c) => r(c)));
  try {
    await until('three rounds', () => count(out, '"summary"') >= 3);
    p.kill('SIGINT');
    expect(await exit).toBe(130);
  } finally {
    p.kill('SIGKILL');
  }
  // Each round is one whole document: split at the top-level boundaries and parse every one.
  const docs = out.trim().split(/\n(?=\{)/).map((d) => JSON.parse(d) as { nodes: unknown[]; summary: Record<string, number> });
  expect(docs.length).toBeGreaterThanOrEqual(3);
  for (const d of docs) expect(d.nodes.length).toBeGreaterThan(0);
  expect(count(err, 'Every 0.2s: rdsctl proxy status --watch 0.2 -o json')).toBeGreaterThanOrEqual(3);
});

test('on a terminal: lb_node status --watch redraws the screen in place each round; Ctrl-C exits 130', async () => {
  const { p, out: screen, exit } = rdsctlOnPty(['lb_node', 'status', '--watch', '0.2'], { ...lab.env, TERM: 'xterm' });
  try {
    await until('two redraws of the table', () => count(screen(), '\x1b[H\x1b[2J') >= 2 && count(screen(), 'IP_ADDR') >= 2);
    p.stdin!.write('\x03');
    expect(await exit).toBe(130);
  } finally {
    p.kill('SIGKILL');
  }
  const frames = screen().split('\x1b[H\x1b[2J').slice(1);
  expect(frames[0]).toMatch(/^Every 0\.2s: rdsctl lb_node status --watch 0\.2 {4}\S+: \d{4}-\d\d-\d\dT/);
  expect(frames[0]).toMatch(/online/);
});

test('a bad interval is a usage error before anything runs', async () => {
  const r = await lab.run(['instance', 'list', '--watch', 'soon']);
  expect(r.code).toBe(2);
  expect(r.stderr.trim()).toBe('rdsctl: --watch soon: expected seconds from 0.1 to 3600');
});
