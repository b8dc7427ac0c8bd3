import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readConfig } from '../../src/core/config.js';
import { runCli } from '../support/run.js';

// `config add` / `config delete` / `config use` through the real CLI, on a config file of their own.

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-config-add-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
function fresh(): { file: string; env: NodeJS.ProcessEnv } {
  const file = path.join(tmp, `config-${++n}.json`);
  return { file, env: { HOME: tmp, RDSCTL_CONFIG: file, PATH: process.env.PATH } };
}

describe('config add', () => {
  it('from flags: every logical database on --metadb, the password from stdin, written 0600; --use makes it current', async () => {
    const { file, env } = fresh();
    const r = await runCli(['config', 'add', 'prod-hz', '--metadb', '10.1.2.3:3306', '--db-user', 'ops', '--password-stdin', '--ssh-user', 'admin', '--ssh-port', '2200', '--use'], { env, stdin: 's3cret\n' });
    expect(r).toMatchObject({ code: 0, stdout: '' });
    expect(r.stderr).toBe(`profile "prod-hz" added in ${file}; it is the current profile\n`);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const cfg = readConfig(file);
    expect(cfg.current).toBe('prod-hz');
    const p = cfg.profiles[0]!;
    expect(Object.keys(p.databases).sort()).toEqual(['dbaas', 'houyi', 'pangu', 'tianji', 'vpc', 'xuanyuan']);
    expect(p.databases.tianji).toEqual({ dsn: 'mysql://ops@10.1.2.3:3306/tianji', password: 's3cret' });
    expect(p.ssh).toMatchObject({ user: 'admin', port: 2200 });
    expect(p.roles_source).toBe('table');
    // The password never shows: not in argv, not in what config show prints.
    const show = await runCli(['config', 'show', 'prod-hz'], { env });
    expect(show.stdout).not.toContain('s3cret');
  });

  it('--password-env stores the variable name; --dsn puts one database elsewhere', async () => {
    const { file, env } = fresh();
    const r = await runCli(['config', 'add', 'stg', '--metadb', 'db.stg:3306', '--password-env', 'STG_PW', '--dsn', 'tianji=mysql://tj@10.9.0.4:3307/tianji'], { env });
    expect(r.code).toBe(0);
    const p = readConfig(file).profiles[0]!;
    expect(p.databases.tianji).toEqual({ dsn: 'mysql://tj@10.9.0.4:3307/tianji', password_env: 'STG_PW' });
    expect(p.databases.dbaas).toEqual({ dsn: 'mysql://rdsctl@db.stg:3306/dbaas', password_env: 'STG_PW' });
    expect(readConfig(file).current).toBeUndefined();
  });

  it('--tls-ca stores the CA as an absolute path in tls.ca; what is not a readable PEM certificate is a usage error', async () => {
    const { file, env } = fresh();
    const ca = path.join(tmp, 'ca.pem');
    fs.writeFileSync(ca, '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n');
    const r = await runCli(['config', 'add', 'tls', '--metadb', '10.1.2.3:3306', '--password-env', 'PW', '--tls-ca', ca], { env });
    expect(r.code).toBe(0);
    expect(readConfig(file).profiles[0]!.tls).toEqual({ ca });
    const notPem = path.join(tmp, 'not-a-cert.pem');
    fs.writeFileSync(notPem, 'hello\n');
    for (const [arg, msg] of [
      [notPem, /--tls-ca .*not-a-cert\.pem: not a PEM certificate/],
      [path.join(tmp, 'missing.pem'), /--tls-ca .*missing\.pem: cannot read it \(ENOENT\)/],
    ] as const) {
      const f = fresh();
      const bad = await runCli(['config', 'add', 'tls', '--metadb', '10.1.2.3:3306', '--tls-ca', arg], { env: f.env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(msg);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(fs.existsSync(f.file)).toBe(false);
    }
  });

  it('an existing name is a conflict (9) unless --force', async () => {
    const { file, env } = fresh();
    expect((await runCli(['config', 'add', 'a', '--metadb', 'h:1'], { env })).code).toBe(0);
    const again = await runCli(['config', 'add', 'a', '--metadb', 'h:2'], { env });
    expect(again.code).toBe(9);
    expect(again.stderr).toMatch(/^rdsctl: profile "a" already exists in .* \(rerun with --force/);
    expect((await runCli(['config', 'add', 'a', '--metadb', 'h:2', '--force'], { env })).stderr).toMatch(/profile "a" replaced/);
    expect(readConfig(file).profiles.map((p) => p.databases.dbaas!.dsn)).toEqual(['mysql://rdsctl@h:2/dbaas']);
  });

  it.each([
    [['config', 'add', 'x'], /give --metadb HOST:PORT .* or --dsn DB=DSN/],
    [['config', 'add', 'bad name', '--metadb', 'h:1'], /profile name "bad name"/],
    [['config', 'add', 'x', '--metadb', 'h'], /--metadb h: must be HOST:PORT/],
    [['config', 'add', 'x', '--dsn', 'nosuch=mysql://u@h:1/d'], /--dsn nosuch=.*: must be DB=DSN/],
    [['config', 'add', 'x', '--dsn', 'dbaas=http://x'], /--dsn dbaas/],
    [['config', 'add', 'x', '--metadb', 'h:1', '--password-stdin', '--password-env', 'P'], /either --password-stdin or --password-env/],
    [['config', 'add', 'x', '--metadb', 'h:1', '--password-env', '1bad'], /not an environment variable name/],
    [['config', 'add', 'x', '--metadb', 'h:1', '--ssh-port', '0'], /--ssh-port/],
    [['config', 'add', 'x', '--metadb', 'h:1', '--password', 'p'], /unknown option '--password'/],
  ])('%j: one-line usage error, nothing written', async (args, msg) => {
    const { file, env } = fresh();
    const r = await runCli(args, { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(fs.existsSync(file)).toBe(false);
  });

  it('on a terminal, asks for what the flags left out; the password is not echoed', async () => {
    const { file, env } = fresh();
    const r = await runCli(['config', 'add', 'asked'], { env, tty: true, stdin: '10.0.0.9:3306\n\nhunter2\nops\n' });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('metadb HOST:PORT');
    expect(r.stderr).toContain('metadb user [rdsctl]');
    expect(r.stderr).toContain('SSH user [root]');
    expect(r.stderr).not.toContain('hunter2');
    const p = readConfig(file).profiles[0]!;
    expect(p.databases.houyi).toEqual({ dsn: 'mysql://rdsctl@10.0.0.9:3306/houyi', password: 'hunter2' });
    expect(p.ssh.user).toBe('ops');
  });
});

describe('config delete', () => {
  it('asks first (--yes without a TTY); deleting the current profile leaves none current', async () => {
    const { file, env } = fresh();
    await runCli(['config', 'add', 'one', '--metadb', 'h:1', '--use'], { env });
    await runCli(['config', 'add', 'two', '--metadb', 'h:2'], { env });
    const unconfirmed = await runCli(['config', 'delete', 'two'], { env });
    expect(unconfirmed.code).toBe(2);
    expect(unconfirmed.stderr).toMatch(/needs confirmation: rerun with --yes/);
    expect(readConfig(file).profiles).toHaveLength(2);
    expect((await runCli(['config', 'delete', 'two', '--yes'], { env })).stderr).toBe('profile "two" deleted\n');
    expect(readConfig(file)).toMatchObject({ current: 'one', profiles: [expect.objectContaining({ name: 'one' })] });
    const cur = await runCli(['config', 'delete', 'one', '--yes'], { env });
    expect(cur.stderr).toMatch(/no profile is current now/);
    expect(readConfig(file)).toEqual({ profiles: [] });
  });

  it('an unknown profile: exit 7 with the near names', async () => {
    const { env } = fresh();
    await runCli(['config', 'add', 'prod-hz', '--metadb', 'h:1'], { env });
    const r = await runCli(['config', 'delete', 'prod-h', '--yes'], { env });
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/profile "prod-h" is not in .* \(profiles: prod-hz\)/);
  });
});

describe('config use', () => {
  it('an unknown name says it came from the argument, exit 7 as `help exit-codes` documents', async () => {
    const { env } = fresh();
    await runCli(['config', 'add', 'prod-hz', '--metadb', 'h:1'], { env });
    const r = await runCli(['config', 'use', 'nope'], { env });
    expect(r.code).toBe(7);
    expect(r.stderr).toMatch(/^rdsctl: config use: profile "nope" is not in /);
    expect(r.stderr).not.toContain('--profile');
    const codes = await runCli(['help', 'exit-codes'], { env });
    expect(codes.stdout).toMatch(/7\s+config\s+.*unknown profile/);
    expect(codes.stdout).not.toMatch(/3\s+not-found\s+.*profile or/);
  });
});
