import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../../src/core/context.js';
import { runCli } from '../support/run.js';

// The monitoring verbs check their flags before the context and the role lookup (as every verb
// does): with every metadb down (port 1), a bad flag is exit 2 in one line and no context is built.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-monitor-parse-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const cfgFile = path.join(tmp, 'config.json');
fs.writeFileSync(
  cfgFile,
  JSON.stringify({
    current: 'down',
    profiles: [
      {
        name: 'down',
        roles_source: 'table',
        databases: Object.fromEntries(['dbaas', 'houyi', 'xuanyuan', 'tianji', 'pangu', 'vpc'].map((d) => [d, { dsn: `mysql://rdsctl@127.0.0.1:1/${d}`, password: 'x' }])),
        ssh: { user: 'root', port: 22 },
        audit_log: path.join(tmp, 'audit.jsonl'),
      },
    ],
  }),
  { mode: 0o600 },
);
const env = { HOME: tmp, RDSCTL_CONFIG: cfgFile, PATH: process.env.PATH };

it.each([
  [['monitor', '--interval', 'soon'], /--interval "soon": expected a duration/],
  [['monitor', '--interval', '100ms'], /--interval 100ms: between 500ms and 1h/],
  [['monitor', '--db-interval', '1s'], /--db-interval 1s: at least --interval/],
  [['monitor', '--lease-ttl', '5'], /--lease-ttl 5: at least twice --interval/],
  [['monitor', '--concurrency', '0'], /--concurrency 0: must be a whole number/],
  [['instance', 'perf', 'rm-x', '--metric', 'qps,bogus'], /--metric bogus: unknown metric/],
  [['instance', 'perf', 'rm-x', '--since', 'yesterday'], /--since "yesterday"/],
  [['instance', 'top', '--sort', 'bogus'], /--sort bogus: valid: name, qps/],
  [['instance', 'top', '--nc', 'nc-a01', '--zone', 'z'], /--nc and --zone: choose one/],
  [['instance', 'top', '--interval', '10ms'], /--interval 10ms: at least 200ms/],
  [['instance', 'kill', 'rm-x', '12x'], /session id "12x": a positive whole number/],
  [['instance', 'logs', 'rm-x', '--slow', '--general'], /--slow and --general: choose one log/],
  [['instance', 'logs', 'rm-x', '-n', 'all'], /-n all: a whole number of lines/],
  [['instance', 'connect', 'rm-x', '--', '--password=S3cret'], /client option --password… is not allowed/],
  [['instance', 'connect', 'rm-x', '--db', 'a;b'], /--db "a;b": not a database name/],
])('%j: exit 2 before any context', async (args, message) => {
  const contexts: Context[] = [];
  const r = await runCli(args, { env, onContext: (c) => contexts.push(c) });
  expect({ code: r.code, contexts: contexts.length }).toEqual({ code: 2, contexts: 0 });
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toContain('S3cret');
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
});

it('good flags reach the role lookup, which fails closed with the metadb down (exit 8)', async () => {
  const r = await runCli(['instance', 'perf', 'rm-x', '--metric', 'qps'], { env });
  expect(r.code).toBe(8);
});
