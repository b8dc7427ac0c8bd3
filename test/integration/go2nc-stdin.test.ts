import { jest } from '@jest/globals';
import { sharedLab, type TestLab } from '../support/lab.js';

// stdin forwarded to every host of a fan-out, as clush does when stdin is not a terminal:
// `cat fix.sh | rdsctl go2nc … -- bash` runs the script on each host.

jest.setTimeout(90_000);

let lab: TestLab;
const set = 'nc-a[01-04]';
const hosts = ['nc-a01', 'nc-a02', 'nc-a03', 'nc-a04'];

beforeAll(() => {
  lab = sharedLab();
});

test('a script piped into `-- bash` runs on every host', async () => {
  const script = 'set -e\nx=$((6*7))\necho "answer $x on $(hostname)"\nexit 0\n';
  const r = await lab.run(['go2nc', set, '--', 'bash'], { stdin: script });
  expect(r.code).toBe(0);
  expect(r.stdout.trim().split('\n').sort()).toEqual(hosts.map((h) => `${h}: answer 42 on ${h}`));
  expect(r.stderr).toMatch(/^4 ok, 0 failed$/m);
});

test('a script failing on the hosts passes its exit code through (one host)', async () => {
  const r = await lab.run(['go2nc', 'nc-a02', '--', 'bash', '-s'], { stdin: 'echo before\nexit 7\necho never\n' });
  expect(r.stdout).toBe('nc-a02: before\n');
  expect(r.code).toBe(7);
});

test('streamed stdin: every host gets all of it, also the ones that start later in the window', async () => {
  const input = Array.from({ length: 2000 }, (_, i) => `line ${i}`).join('\n') + '\n';
  const r = await lab.run(['go2nc', set, '--concurrency', '1', '-o', 'json', '--', 'md5sum'], { stdin: input });
  expect(r.code).toBe(0);
  const recs = JSON.parse(r.stdout) as Array<{ host: string; stdout: string }>;
  const want = (await import('node:crypto')).createHash('md5').update(input).digest('hex');
  expect(recs.map((x) => x.stdout)).toEqual(hosts.map(() => `${want}  -\n`));
});

test('a command that does not read stdin finishes without waiting for it', async () => {
  const r = await lab.run(['go2nc', set, '--', 'echo', 'hi'], { stdin: 'ignored\n' });
  expect(r.code).toBe(0);
  expect(r.stdout.trim().split('\n').sort()).toEqual(hosts.map((h) => `${h}: hi`));
});

test('--no-stdin: the hosts read EOF', async () => {
  const r = await lab.run(['go2nc', set, '--no-stdin', '--', 'cat; echo end'], { stdin: 'secret\n' });
  expect(r.code).toBe(0);
  expect(r.stdout.trim().split('\n').sort()).toEqual(hosts.map((h) => `${h}: end`));
});

test('a destructive command inside the piped script asks first (no TTY, no --yes: exit 2, nothing runs)', async () => {
  const r = await lab.run(['go2nc', set, '--', 'bash'], { stdin: 'echo start\nfalse && sudo -u nobody bash -c "kill -n 9 1"\n' });
  expect(r.code).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).toContain('matches the destructive pattern "kill -9, in the script on stdin"');
});

test('the audit records that a script came on stdin', async () => {
  const r = await lab.run(['go2nc', 'nc-a01', '--reason', 'stdin-audit', '--', 'bash'], { stdin: 'echo audited\n' });
  expect(r.code).toBe(0);
  const a = await lab.run(['audit', 'list', '--limit', '5', '-o', 'json']);
  const recs = JSON.parse(a.stdout) as Array<{ reason: string | null; detail: Record<string, unknown> }>;
  const mine = recs.filter((x) => x.reason === 'stdin-audit');
  expect(mine.length).toBeGreaterThan(0);
  expect(mine[0]!.detail.stdin).toBe('script, 13 bytes');
});
