import { PassThrough } from 'node:stream';
import { isDeepStrictEqual } from 'node:util';
import { AuditLog } from '../../src/core/audit.js';
import type { Clock } from '../../src/core/clock.js';
import { SSH_DEFAULTS, type LogicalDb, type Profile } from '../../src/core/config.js';
import type { Context } from '../../src/core/context.js';
import { createIO } from '../../src/core/io.js';
import type { Db, Params, Row } from '../../src/remote/mysql.js';
import type { ExecOptions, ExecResult, FanoutOptions, HostTarget, SshPool } from '../../src/remote/ssh-types.js';

// Test doubles built like GitHub CLI's internal/run/stub.go and pkg/httpmock/registry.go: every
// call must match a registered stub, a call nobody registered fails the test (even if the code
// under test swallows the error, since it is also recorded), and verify() fails on stubs that
// were never used. Each stub answers once unless told `times`.

interface Stub<R> {
  what: string;
  matches(args: unknown[]): boolean;
  reply: (args: unknown[]) => R;
  times: number;
  used: number;
}

class Registry {
  private readonly stubs: Array<Stub<unknown>> = [];
  readonly surprises: string[] = [];

  constructor(private readonly owner: string) {}

  add<R>(s: Omit<Stub<R>, 'used'>): void {
    this.stubs.push({ ...(s as Omit<Stub<unknown>, 'used'>), used: 0 });
  }

  answer<R>(kind: string, args: unknown[], describe: string): R {
    const s = this.stubs.find((x) => x.what.startsWith(`${kind} `) && x.used < x.times && x.matches(args));
    if (!s) {
      const msg = `${this.owner}: unexpected ${kind} ${describe}`;
      this.surprises.push(msg);
      throw new Error(msg);
    }
    s.used++;
    return s.reply(args) as R;
  }

  /** Throws naming every stub that was not used as often as registered, and every surprise. */
  verify(): void {
    const unused = this.stubs.filter((s) => s.used < s.times).map((s) => `${this.owner}: stub never used${s.times > 1 ? ` (${s.used} of ${s.times})` : ''}: ${s.what}`);
    const problems = [...this.surprises, ...unused];
    if (problems.length) throw new Error(problems.join('\n'));
  }
}

type Match = RegExp | string;
const sqlMatches = (m: Match, sql: string): boolean => (typeof m === 'string' ? sql.replace(/\s+/g, ' ').includes(m) : m.test(sql));

export interface DbStubOptions {
  /** When given, the statement's parameters must equal these. */
  params?: Params;
  times?: number;
}

/** A Db that answers only the statements it was told about. */
export class DbStub implements Db {
  readonly where = 'stub';
  private readonly reg: Registry;

  constructor(readonly name: string) {
    this.reg = new Registry(`db ${name}`);
  }

  /** Rows for a SELECT whose text matches (a substring, whitespace folded, or a RegExp). */
  onQuery(sql: Match, rows: Row[] | ((params: Params | undefined) => Row[]), o: DbStubOptions = {}): this {
    this.reg.add({ what: `query ${String(sql)}${o.params ? ` ${JSON.stringify(o.params)}` : ''}`, matches: ([s, p]) => sqlMatches(sql, s as string) && (o.params === undefined || isDeepStrictEqual(p, o.params)), reply: ([, p]) => (typeof rows === 'function' ? rows(p as Params | undefined) : rows), times: o.times ?? 1 });
    return this;
  }

  onExecute(sql: Match, result: { affectedRows: number; insertId?: number }, o: DbStubOptions = {}): this {
    this.reg.add({ what: `execute ${String(sql)}${o.params ? ` ${JSON.stringify(o.params)}` : ''}`, matches: ([s, p]) => sqlMatches(sql, s as string) && (o.params === undefined || isDeepStrictEqual(p, o.params)), reply: () => ({ insertId: 0, ...result }), times: o.times ?? 1 });
    return this;
  }

  async query<T = Row>(sql: string, params?: Params): Promise<T[]> {
    return this.reg.answer<T[]>('query', [sql, params], `${sql.replace(/\s+/g, ' ').slice(0, 200)} ${JSON.stringify(params ?? [])}`);
  }

  async execute(sql: string, params?: Params): Promise<{ affectedRows: number; insertId: number }> {
    return this.reg.answer('execute', [sql, params], `${sql.replace(/\s+/g, ' ').slice(0, 200)} ${JSON.stringify(params ?? [])}`);
  }

  async transaction<T>(fn: (tx: Db) => Promise<T>): Promise<T> {
    return fn(this);
  }

  async stream<T = Row>(sql: string, params: Params | undefined, onRow: (row: T) => void): Promise<void> {
    for (const r of await this.query<T>(sql, params)) onRow(r);
  }

  async close(): Promise<void> {}

  verify(): void {
    this.reg.verify();
  }
}

const okResult = (t: HostTarget, over: Partial<ExecResult>): ExecResult => ({ host: t.name, address: t.address, exitCode: 0, signal: null, stdout: '', stderr: '', durationMs: 1, category: null, ...over });

/** An SshPool that runs only the commands it was told about, on the hosts it was told about. */
export class SshStub implements SshPool {
  private readonly reg = new Registry('ssh');
  /** Every call made, in order: host and command. */
  readonly calls: Array<{ host: string; command: string }> = [];

  /** exec/run on `host` of a command matching `command` answers `result` (exit 0 and empty output unless given). */
  onExec(host: string, command: Match, result: Partial<ExecResult> = {}, o: { times?: number } = {}): this {
    this.reg.add({ what: `exec ${host} ${String(command)}`, matches: ([t, c]) => (t as HostTarget).name === host && sqlMatches(command, c as string), reply: ([t]) => okResult(t as HostTarget, result), times: o.times ?? 1 });
    return this;
  }

  /** A fan-out of a matching command answers each host from `results` (by host name). */
  onFanout(command: Match, results: Record<string, Partial<ExecResult>>): this {
    this.reg.add({
      what: `fanout ${String(command)} on ${Object.keys(results).join(',')}`,
      matches: ([ts, c]) => sqlMatches(command, c as string) && isDeepStrictEqual((ts as HostTarget[]).map((t) => t.name).sort(), Object.keys(results).sort()),
      reply: ([ts]) => (ts as HostTarget[]).map((t) => okResult(t, results[t.name]!)),
      times: 1,
    });
    return this;
  }

  async exec(target: HostTarget, command: string, _o?: ExecOptions): Promise<ExecResult> {
    this.calls.push({ host: target.name, command });
    return this.reg.answer('exec', [target, command], `${target.name}: ${command}`);
  }

  async run(target: HostTarget, command: string, o?: ExecOptions): Promise<string> {
    const r = await this.exec(target, command, o);
    if (r.category !== null) throw new Error(`${r.host}: ${r.error ?? r.category}`);
    return r.stdout;
  }

  async fanout(targets: HostTarget[], command: string, o: FanoutOptions = {}): Promise<ExecResult[]> {
    for (const t of targets) this.calls.push({ host: t.name, command });
    const rs = this.reg.answer<ExecResult[]>('fanout', [targets, command], `${targets.map((t) => t.name).join(',')}: ${command}`);
    for (const r of rs) o.onResult?.(r);
    return rs;
  }

  forget(target: HostTarget): void {
    this.reg.answer('forget', [target], target.name);
  }

  async closeAll(): Promise<void> {}

  verify(): void {
    this.reg.verify();
  }
}

export const fixedClock = (iso: string): Clock => ({ now: () => new Date(iso), sleep: async () => undefined });

export interface FakeContextOptions {
  dbs?: Partial<Record<LogicalDb, DbStub>>;
  ssh?: SshStub;
  profile?: Partial<Profile>;
  now?: string;
  tty?: boolean;
  osUser?: string;
  /** A local audit file for verbs that audit (the dbaas copy is not written). Without it, audit() fails. */
  auditFile?: string;
}

export interface FakeContext {
  ctx: Context;
  stdout(): string;
  stderr(): string;
  /** Every double's verify(), and no surprise calls on the context itself. */
  verify(): void;
}

const PROFILE: Profile = { name: 'stub', roles_source: 'none', databases: {}, ssh: SSH_DEFAULTS, host_root: '/' };

/**
 * A Context whose parts are doubles: databases and SSH answer only what the test registered, and
 * the parts a test did not hand in (config, audit, a database or SSH it did not give) fail when
 * touched.
 */
export function fakeContext(o: FakeContextOptions = {}): FakeContext {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const stdin = new PassThrough();
  stdin.end();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => (out += d.toString()));
  stderr.on('data', (d: Buffer) => (err += d.toString()));
  const env = { HOME: '/nonexistent', PATH: process.env.PATH };
  const io = createIO({ stdin, stdout, stderr, stdinIsTTY: Boolean(o.tty), stdoutIsTTY: Boolean(o.tty), stderrIsTTY: Boolean(o.tty), env });
  const surprises: string[] = [];
  const surprise = (what: string): never => {
    const msg = `context: unexpected ${what}`;
    surprises.push(msg);
    throw new Error(msg);
  };
  const profile = { ...PROFILE, ...o.profile } as Profile;
  let audit: AuditLog | undefined;
  const facts = new Map<string, Promise<unknown>>();
  const ctx: Context = {
    io,
    env,
    clock: fixedClock(o.now ?? '2026-11-21T10:00:00Z'),
    debug: false,
    signal: new AbortController().signal,
    osUser: o.osUser ?? 'tester',
    configPath: '/nonexistent/config.json',
    config: () => surprise('config()'),
    profile: () => profile,
    db: (name) => o.dbs?.[name] ?? surprise(`db("${name}")`),
    ssh: async () => o.ssh ?? surprise('ssh()'),
    audit: () => (o.auditFile ? (audit ??= new AuditLog(o.auditFile, { user: o.osUser ?? 'tester', profile: profile.name }, () => ctx.clock.now(), () => undefined)) : surprise('audit()')),
    once: (key, make) => {
      if (!facts.has(key)) facts.set(key, make());
      return facts.get(key) as never;
    },
    close: async () => undefined,
  };
  return {
    ctx,
    stdout: () => out,
    stderr: () => err,
    verify() {
      const problems: string[] = [...surprises];
      for (const d of Object.values(o.dbs ?? {})) {
        try {
          d!.verify();
        } catch (e) {
          problems.push((e as Error).message);
        }
      }
      try {
        o.ssh?.verify();
      } catch (e) {
        problems.push((e as Error).message);
      }
      if (problems.length) throw new Error(problems.join('\n'));
    },
  };
}
