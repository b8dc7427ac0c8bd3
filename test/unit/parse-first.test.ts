import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Context } from '../../src/core/context.js';
import { runCli } from '../support/run.js';

// kubectl's Complete → Validate → Run order: a verb parses and checks its flags and arguments
// before the context is built and before the role lookup, so a typo is exit 2 even with every
// metadb down (port 1 refuses at once). The one run with good flags shows the metadb really is down.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-parse-first-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const cfgFile = path.join(tmp, 'config.json');
const dead = (db: string): { dsn: string; password: string } => ({ dsn: `mysql://rdsctl@127.0.0.1:1/${db}`, password: 'x' });
fs.writeFileSync(
  cfgFile,
  JSON.stringify({
    current: 'down',
    profiles: [
      {
        name: 'down',
        roles_source: 'table',
        databases: Object.fromEntries(['dbaas', 'houyi', 'xuanyuan', 'tianji', 'pangu', 'vpc'].map((d) => [d, dead(d)])),
        ssh: { user: 'root', port: 22 },
        audit_log: path.join(tmp, 'audit.jsonl'),
      },
    ],
  }),
  { mode: 0o600 },
);
const env = { HOME: tmp, RDSCTL_CONFIG: cfgFile, PATH: process.env.PATH };

async function run(args: string[]): Promise<{ code: number; stderr: string; contexts: number }> {
  const contexts: Context[] = [];
  const r = await runCli(args, { env, onContext: (c) => contexts.push(c) });
  return { code: r.code, stderr: r.stderr, contexts: contexts.length };
}

it('with the metadb down, good flags reach the role lookup and fail there (exit 8)', async () => {
  const r = await run(['instance', 'list', '--limit', '5']);
  expect(r).toMatchObject({ code: 8, contexts: 1 });
  expect(r.stderr).toMatch(/cannot check the role .* is unreachable/);
});

it.each([
  [['instance', 'list', '--limit', 'abc'], /--limit abc: a positive whole number/],
  [['instance', 'list', '--status', 'bogus'], /--status bogus: valid: creating/],
  [['instance', 'step', 'rm-x', 'bogus'], /unknown action "bogus"/],
  [['instance', 'step', 'rm-x', 'skip'], /skip needs a STEP/],
  [['instance', 'step', 'rm-x', 'skip', '5'], /skip needs --reason: the step's work is left undone/],
  [['task', 'skip', '17', 'do_init'], /skip needs --reason/],
  [['pangu', 'disk', 'offline', 'cs-a04:sdb', '--yes'], /pangu disk offline needs --reason: it is written to the disk's offline_reason/],
  [['vpc', 'list', '--region', '$(x)'], /--region: "\$\(x\)" is not a valid id/],
  [['config', 'add', 'x', '--metadb', 'nohost'], /--metadb nohost: must be HOST:PORT/],
  [['instance', 'step', 'rm-x', 'list', '--lease-ttl', '0'], /--lease-ttl 0: a positive number of seconds/],
  [['instance', 'step', 'rm-x', 'list', '--task', '1x'], /--task 1x: a task id is a number/],
  [['instance', 'create', '--storage', '0'], /--storage 0: a positive whole number/],
  [['instance', 'create', '--account', ':pw'], /the name comes before the ":"/],
  [['instance', 'create', '--account', 'app'], /--account app has no password/],
  [['task', 'list', '--limit', '0'], /--limit 0: a positive whole number/],
  [['task', 'show', 'abc'], /task "abc": a task id is a number/],
  [['worker', '--poll', '10'], /--poll 10: a whole number of at least 50/],
  [['check', '--timeout', '0'], /--timeout 0: expected seconds from 0.1 to 3600/],
  [['check', 'bogus'], /unknown check "bogus"/],
  [['audit', 'list', '--since', 'yesterday'], /--since "yesterday": expected a duration/],
  [['audit', 'list', '--limit', '0'], /--limit 0: expected a whole number from 1 to 100000/],
  [['pangu', 'disk', 'status', '--status', 'fine'], /--status fine: "fine" is not one of/],
  [['pangu', 'disk', 'offline', 'nocolon'], /nocolon/],
  [['tianji', 'service', 'list'], /--cluster is required/],
  [['vpc', 'route', 'delete'], /name the route/],
  [['lb_node', 'status', '--timeout', '99'], /--timeout 99: expected seconds from 0.05 to 60/],
  [['proxy', 'status', '--concurrency', '0'], /--concurrency 0: expected a whole number/],
  [['hyapi', 'bogus_action'], /unknown action "bogus_action"/],
  [['go2nc', 'nc-a01', '--concurrency', '0', '--', 'uptime'], /--concurrency 0/],
  [['go2ncinfo', 'nc-a01', '--connect-timeout', '0'], /--connect-timeout 0: must be a number of seconds above 0/],
  [['go2vm', 'vm-001', '--command-timeout', '1e3', '--', 'uptime'], /--command-timeout 1e3: must be a number of seconds above 0/],
  [['go2nc', 'nc-a01', '--command-timeout', '700000', '--', 'uptime'], /--command-timeout 700000:/],
  [['lab', 'up', '--ncs', '3'], /--ncs 3: must be a whole number from 6 to 2000/],
  [['lab', 'up', '--net', '10.1'], /--net 10\.1: expected 127\.X/],
  [['lab', 'up', '--scale', 'huge'], /--scale huge: valid: lab, fleet/],
  [['lab', 'up', '--scale', 'fleet', '--vms', '5'], /--vms 5: the VMs of a fleet lab are metadb rows only/],
])('%j: exit 2 before any context', async (args, message) => {
  const r = await run(args);
  expect({ code: r.code, contexts: r.contexts }).toEqual({ code: 2, contexts: 0 });
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
});
