import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ConfigError, UsageError } from '../../src/core/errors.js';
import {
  dbPassword, defaultConfigPath, maskProfile, normalizeProfile, parseDsn, readConfig, resolveConfigPath, selectProfile, setProfileKey, writeConfig, type ConfigFile,
} from '../../src/core/config.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rdsctl-config-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const prof = (name: string, extra: Record<string, unknown> = {}) => normalizeProfile({ name, ...extra }, 'test');
const cfg: ConfigFile = { current: 'lab', profiles: [prof('lab'), prof('prod-hz'), prof('prod-sh')] };

describe('profile precedence: --profile, then RDSCTL_PROFILE, then current', () => {
  it('uses current when nothing else is given', () => {
    expect(selectProfile(cfg, undefined, {}, 'f').name).toBe('lab');
  });
  it('RDSCTL_PROFILE beats current', () => {
    expect(selectProfile(cfg, undefined, { RDSCTL_PROFILE: 'prod-hz' }, 'f').name).toBe('prod-hz');
  });
  it('--profile beats RDSCTL_PROFILE', () => {
    expect(selectProfile(cfg, 'prod-sh', { RDSCTL_PROFILE: 'prod-hz' }, 'f').name).toBe('prod-sh');
  });
  it('unknown profile: config error naming the source and listing profiles', () => {
    expect(() => selectProfile(cfg, undefined, { RDSCTL_PROFILE: 'prod' }, 'f')).toThrow(ConfigError);
    try {
      selectProfile(cfg, undefined, { RDSCTL_PROFILE: 'prod' }, 'f');
    } catch (e) {
      expect((e as ConfigError).message).toMatch(/profile "prod" \(from RDSCTL_PROFILE\)/);
      expect((e as ConfigError).hint).toBe('profiles: prod-hz, prod-sh');
    }
  });
  it('no profile at all: config error with a hint', () => {
    expect(() => selectProfile({ profiles: [] }, undefined, {}, 'f')).toThrow(/no profile selected/);
  });
});

describe('config file location', () => {
  it('--config, then RDSCTL_CONFIG, then XDG', () => {
    expect(resolveConfigPath('/a.json', { RDSCTL_CONFIG: '/b.json' })).toBe('/a.json');
    expect(resolveConfigPath(undefined, { RDSCTL_CONFIG: '/b.json' })).toBe('/b.json');
    expect(defaultConfigPath({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/x/rdsctl/config.json');
    expect(defaultConfigPath({ HOME: '/h' })).toBe('/h/.config/rdsctl/config.json');
  });
});

describe('reading and writing', () => {
  it('a missing file is an empty config; garbage is a config error', () => {
    expect(readConfig(path.join(tmp, 'none.json'))).toEqual({ profiles: [] });
    const bad = path.join(tmp, 'bad.json');
    fs.writeFileSync(bad, '{"profiles": [');
    expect(() => readConfig(bad)).toThrow(/not valid JSON/);
    fs.writeFileSync(bad, '{"profiles": [{"name": "x", "databases": {"nosuch": {"dsn": "mysql://a@b/c"}}}]}');
    expect(() => readConfig(bad)).toThrow(/unknown logical database/);
  });
  it('an unreadable file is a config error', () => {
    const dir = path.join(tmp, 'dir.json');
    fs.mkdirSync(dir);
    expect(() => readConfig(dir)).toThrow(/cannot read config .*EISDIR/);
  });
  it('writes atomically with mode 0600 and round-trips', () => {
    const f = path.join(tmp, 'sub', 'config.json');
    writeConfig(f, cfg);
    expect(fs.statSync(f).mode & 0o777).toBe(0o600);
    expect(readConfig(f)).toEqual(cfg);
    expect(fs.readdirSync(path.dirname(f))).toEqual(['config.json']);
  });
});

describe('DSN', () => {
  it('parses user, host, port and database', () => {
    expect(parseDsn('mysql://rdsctl@127.0.0.1:13306/dbaas', 'x')).toEqual({ user: 'rdsctl', host: '127.0.0.1', port: 13306, database: 'dbaas' });
  });
  it.each(['not a url', 'http://a@b/c', 'mysql://a@b', 'mysql://a:secret@b/c', 'mysql://a@b/c;drop'])('rejects %s', (dsn) => {
    expect(() => parseDsn(dsn, 'profiles[0].databases.dbaas.dsn')).toThrow(ConfigError);
  });
  it('names where the bad DSN is', () => {
    expect(() => parseDsn('nope', 'prof.databases.houyi.dsn')).toThrow(/prof\.databases\.houyi\.dsn: bad DSN/);
  });
});

describe('secrets', () => {
  const p = prof('x', { databases: { dbaas: { dsn: 'mysql://u@h/dbaas', password: 's3cret' }, houyi: { dsn: 'mysql://u@h/houyi', password_env: 'HOUYI_PW' } } });
  it('show masks stored passwords and keeps env var names', () => {
    const m = maskProfile(p);
    expect(JSON.stringify(m)).not.toContain('s3cret');
    expect(m.databases.dbaas!.password).toBe('********');
    expect(m.databases.houyi!.password_env).toBe('HOUYI_PW');
  });
  it('password_env wins over a stored password', () => {
    expect(dbPassword({ dsn: '', password: 'a', password_env: 'PW' }, { PW: 'b' })).toBe('b');
    expect(dbPassword({ dsn: '', password: 'a', password_env: 'PW' }, {})).toBe('a');
  });
});

describe('config set', () => {
  it('sets typed keys and validates the result', () => {
    const p = prof('x');
    expect(setProfileKey(p, 'ssh.concurrency', '128').ssh.concurrency).toBe(128);
    expect(setProfileKey(p, 'databases.dbaas.dsn', 'mysql://u@h:1/dbaas').databases.dbaas!.dsn).toBe('mysql://u@h:1/dbaas');
    expect(setProfileKey(p, 'roles_source', 'table').roles_source).toBe('table');
  });
  it.each([
    ['ssh.nope', '1', /unknown key/],
    ['ssh.port', 'abc', /not a number/],
    ['ssh.port', '70000', /from 1 to 65535/],
    ['roles_source', 'ldap', /not one of table, none/],
    ['databases.dbaas.dsn', 'garbage', /bad DSN/],
  ])('%s=%s is a usage error', (k, v, re) => {
    expect(() => setProfileKey(prof('x'), k, v)).toThrow(UsageError);
    expect(() => setProfileKey(prof('x'), k, v)).toThrow(re);
  });
});
