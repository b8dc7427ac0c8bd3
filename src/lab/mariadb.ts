import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { LOGICAL_DATABASES, type LogicalDb } from '../core/config.js';
import { UnavailableError } from '../core/errors.js';
import { createDb } from '../remote/mysql.js';
import type { LabBinaries } from './binaries.js';
import { bindProbe, portInUseMessage, tcpProbe } from './net.js';
import { isRunning } from './procs.js';
import type { Seed } from './seed.js';
import type { ServerCert } from './tls.js';

// The lab's metadb server: Debian's mariadbd on a private datadir, bound to 127.0.0.1 only.
// Administration (schema, the rdsctl user) goes through the mariadb client over the server's
// own socket as the OS user that installed it (unix_socket auth, no admin password exists);
// the seed goes in as the rdsctl user over TCP, the way every command will connect.

export const SCHEMA_DIR = fileURLToPath(new URL('../../fixtures/schema/', import.meta.url));
export const LAB_DB_USER = 'rdsctl';

export interface MariadbPaths {
  base: string;
  datadir: string;
  socket: string;
  pidFile: string;
  log: string;
  /** Written after the databases were created and seeded: {schema_hash, seeded_at}. */
  seededMarker: string;
}

export function mariadbPaths(labDir: string): MariadbPaths {
  const base = path.join(labDir, 'mariadb');
  let socket = path.join(base, 'mariadb.sock');
  // A unix socket path is limited to 108 bytes; a deep --dir gets its socket in the temp dir.
  if (Buffer.byteLength(socket) > 100) socket = path.join(os.tmpdir(), `rdsctl-lab-${createHash('sha1').update(labDir).digest('hex').slice(0, 12)}.sock`);
  return { base, datadir: path.join(base, 'data'), socket, pidFile: path.join(base, 'mariadb.pid'), log: path.join(base, 'mariadb.log'), seededMarker: path.join(base, 'seeded.json') };
}

export interface Secrets {
  mariadb_user: string;
  mariadb_password: string;
}

/** <dir>/secrets.json (0600): the rdsctl user's password, made once per lab. */
export function ensureSecrets(labDir: string): Secrets {
  const file = path.join(labDir, 'secrets.json');
  try {
    const s = JSON.parse(fs.readFileSync(file, 'utf8')) as Secrets;
    if (typeof s.mariadb_password === 'string' && /^[0-9a-f]{16,}$/.test(s.mariadb_password)) return s;
  } catch {
    // missing or unreadable: make a new one below
  }
  const s: Secrets = { mariadb_user: LAB_DB_USER, mariadb_password: randomBytes(16).toString('hex') };
  fs.writeFileSync(file, JSON.stringify(s, null, 2) + '\n', { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return s;
}

/** <dir>/client.cnf (0600), so `mariadb --defaults-extra-file=<dir>/client.cnf dbaas` just works. */
export function writeClientCnf(labDir: string, port: number, secrets: Secrets): string {
  const file = path.join(labDir, 'client.cnf');
  const text = ['[client]', `user=${secrets.mariadb_user}`, `password=${secrets.mariadb_password}`, 'host=127.0.0.1', `port=${port}`, ''].join('\n');
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
  return file;
}

/** The server's pid when it runs from this lab's datadir. */
export function runningPid(p: MariadbPaths): number | undefined {
  let pid: number;
  try {
    pid = Number(fs.readFileSync(p.pidFile, 'utf8').trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 1 || !isRunning(pid)) return undefined;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(p.datadir) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Was the running server started with a certificate? (A lab started by an older rdsctl was not.) */
export function runsWithTls(p: MariadbPaths): boolean {
  const pid = runningPid(p);
  if (!pid) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').some((a) => a.startsWith('--ssl-cert='));
  } catch {
    return false;
  }
}

function osUser(): string {
  return os.userInfo().username;
}

function tail(file: string, lines = 3): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

function run(bin: string, args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

/** mariadb-install-db into an empty datadir. */
export async function installDatadir(bins: LabBinaries, p: MariadbPaths): Promise<void> {
  fs.rmSync(p.datadir, { recursive: true, force: true });
  fs.mkdirSync(p.datadir, { recursive: true, mode: 0o700 });
  const r = await run(bins.installDb, ['--no-defaults', `--datadir=${p.datadir}`, `--user=${osUser()}`, '--auth-root-authentication-method=socket', '--skip-test-db', '--skip-name-resolve']);
  if (r.code !== 0) throw new UnavailableError(`mariadb-install-db into ${p.datadir} failed: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
}

export function mariadbdArgs(p: MariadbPaths, port: number, cert?: ServerCert): string[] {
  return [
    '--no-defaults',
    ...(cert ? [`--ssl-ca=${cert.ca}`, `--ssl-cert=${cert.cert}`, `--ssl-key=${cert.key}`] : []),
    `--datadir=${p.datadir}`,
    `--port=${port}`,
    '--bind-address=127.0.0.1',
    `--socket=${p.socket}`,
    `--pid-file=${p.pidFile}`,
    `--log-error=${p.log}`,
    `--user=${osUser()}`,
    '--skip-name-resolve',
    '--character-set-server=utf8mb4',
    '--collation-server=utf8mb4_general_ci',
    // Every schema keeps DATETIME in UTC; so does the server's session default.
    '--default-time-zone=+00:00',
    '--max-connections=1000',
    '--innodb-buffer-pool-size=128M',
    // A lab, not production: a crash may lose the last second of commits.
    '--innodb-flush-log-at-trx-commit=2',
  ];
}

/**
 * Start the server and wait until it answers on its port (without a port: networking off, until
 * its socket answers). Fails (and leaves nothing running) when it exits early, with the last
 * lines of its log.
 */
export async function startMariadb(bins: LabBinaries, p: MariadbPaths, port: number | undefined, cert?: ServerCert, timeoutMs = 30000): Promise<number> {
  fs.rmSync(p.pidFile, { force: true });
  const args = port === undefined ? [...mariadbdArgs(p, 0), '--skip-networking'] : mariadbdArgs(p, port, cert);
  const child = spawn(bins.mariadbd, args, { detached: true, stdio: 'ignore' });
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  child.once('error', () => (exited = -1));
  child.unref();
  const where = port === undefined ? p.socket : `127.0.0.1:${port}`;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (exited !== undefined) break;
    if (fs.existsSync(p.pidFile) && (port === undefined ? await unixProbe(p.socket) : await tcpProbe('127.0.0.1', port, 500))) return child.pid!;
    await new Promise((r) => setTimeout(r, 25));
  }
  if (exited === undefined && child.pid) {
    process.kill(child.pid, 'SIGKILL');
    throw new UnavailableError(`MariaDB on ${where} did not answer within ${timeoutMs / 1000}s (log: ${p.log})`);
  }
  const why = tail(p.log).match(/\[ERROR\][^|]*/g)?.pop()?.trim() ?? tail(p.log);
  throw new UnavailableError(`MariaDB on ${where} did not start: ${why || `exit ${exited}`} (log: ${p.log})`);
}

function unixProbe(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = net.connect(socket);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** SIGTERM (a clean InnoDB shutdown) and wait until the server is gone. */
async function stopMariadb(pid: number, timeoutMs = 60_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (isRunning(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGKILL');
      throw new UnavailableError(`MariaDB pid ${pid} did not shut down within ${timeoutMs / 1000}s`);
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * The ready-made metadb datadir a new lab copies: mariadb-install-db, then the six databases
 * created empty from fixtures/schema, shut down cleanly. One per MariaDB build and schema, in
 * rdsctl's cache dir (`lab down --purge` leaves it; a new build or schema gets a new one).
 */
export function templateDir(cacheDir: string, bins: LabBinaries): string {
  const st = fs.statSync(bins.mariadbd);
  const key = createHash('sha1').update([bins.mariadbd, st.size, st.mtimeMs, bins.installDb, schemaHash(), osUser()].join('\0')).digest('hex').slice(0, 16);
  return path.join(cacheDir, `lab-mariadb-${key}`);
}

/** Make the template unless it exists. Several `lab up`s may race: each builds aside, the first rename wins. */
export async function ensureTemplate(bins: LabBinaries, dir: string): Promise<void> {
  if (fs.existsSync(path.join(dir, 'mysql'))) return;
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  const work = fs.mkdtempSync(path.join(path.dirname(dir), '.lab-mariadb-'));
  try {
    const p = mariadbPaths(work);
    await installDatadir(bins, p);
    const pid = await startMariadb(bins, p, undefined);
    try {
      await createDatabases(bins, p);
    } finally {
      await stopMariadb(pid);
    }
    try {
      fs.renameSync(p.datadir, dir);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/**
 * The lab's datadir as a copy of the template. GNU cp keeps the copy sparse: most of the 180 MB
 * (InnoDB's preallocated redo log and system tablespace) is zeros, so a copy writes ~13 MB
 * (0.4 s against 1 s for a plain copy here); it reflinks where the filesystem can.
 */
export async function copyTemplate(template: string, p: MariadbPaths): Promise<void> {
  fs.rmSync(p.datadir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(p.datadir), { recursive: true });
  const r = await run('cp', ['-a', '--sparse=always', '--reflink=auto', '--', template, p.datadir]);
  if (r.code !== 0) throw new UnavailableError(`copying the metadb template ${template} to ${p.datadir} failed: ${r.stderr.trim().split('\n').pop()}`);
  fs.chmodSync(p.datadir, 0o700);
}

export async function checkMariadbPort(port: number): Promise<void> {
  const code = await bindProbe('127.0.0.1', port);
  if (code) throw new UnavailableError(portInUseMessage('127.0.0.1', port, code), { hint: 'pick another with --port, or stop what holds it' });
}

/** SQL as the installing OS user over the server's socket. */
async function adminSql(bins: LabBinaries, p: MariadbPaths, sql: string, database?: string): Promise<void> {
  const args = ['--no-defaults', '--protocol=socket', `--socket=${p.socket}`, `--user=${osUser()}`, '--batch', ...(database ? [`--database=${database}`] : [])];
  const r = await run(bins.client, args, sql);
  if (r.code !== 0) throw new Error(r.stderr.trim().split('\n')[0] || `mariadb client exit ${r.code}`);
}

function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Schema files of one logical database, in name order. */
export function schemaFiles(db: LogicalDb): string[] {
  const dir = path.join(SCHEMA_DIR, db);
  return fs.readdirSync(dir).filter((f) => f.endsWith('.sql')).sort().map((f) => path.join(dir, f));
}

/** A hash over every schema file, to notice fixtures that changed after a lab was seeded. */
export function schemaHash(): string {
  const h = createHash('sha1');
  for (const db of LOGICAL_DATABASES) for (const f of schemaFiles(db)) h.update(path.relative(SCHEMA_DIR, f)).update('\0').update(fs.readFileSync(f)).update('\0');
  return h.digest('hex');
}

/**
 * (Re)create the six databases empty from fixtures/schema, in one client run (each run costs a
 * process start). An error is mapped back from the script's line to the fixture file's line.
 */
export async function createDatabases(bins: LabBinaries, p: MariadbPaths): Promise<void> {
  const parts: string[] = [];
  const origins: Array<{ from: number; file: string }> = [];
  let line = 1;
  const add = (text: string, file?: string): void => {
    if (file) origins.push({ from: line, file });
    const t = text.endsWith('\n') ? text : text + '\n';
    parts.push(t);
    line += t.split('\n').length - 1;
  };
  for (const db of LOGICAL_DATABASES) {
    add(`DROP DATABASE IF EXISTS \`${db}\`;\nCREATE DATABASE \`${db}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;\nUSE \`${db}\`;`);
    for (const file of schemaFiles(db)) add(fs.readFileSync(file, 'utf8'), file);
  }
  try {
    await adminSql(bins, p, parts.join(''));
  } catch (e) {
    const msg = (e as Error).message;
    const at = Number(/at line (\d+)/.exec(msg)?.[1]);
    const o = [...origins].reverse().find((x) => x.from <= at);
    if (!o) throw e;
    throw new Error(`loading ${path.relative(path.dirname(path.dirname(SCHEMA_DIR)), o.file)} line ${at - o.from + 1}: ${msg.replace(/ at line \d+/, '')}`);
  }
}

/** The rdsctl user with ALL on the six databases; its password follows secrets.json. */
export async function ensureLabUser(bins: LabBinaries, p: MariadbPaths, s: Secrets): Promise<void> {
  const pw = sqlString(s.mariadb_password);
  const stmts: string[] = [];
  for (const host of ['127.0.0.1', 'localhost']) {
    const who = `${sqlString(s.mariadb_user)}@${sqlString(host)}`;
    stmts.push(`CREATE USER IF NOT EXISTS ${who} IDENTIFIED BY ${pw};`, `ALTER USER ${who} IDENTIFIED BY ${pw};`);
    for (const db of LOGICAL_DATABASES) stmts.push(`GRANT ALL PRIVILEGES ON \`${db}\`.* TO ${who};`);
  }
  await adminSql(bins, p, stmts.join('\n'));
}

const CHUNK = 500;

/** Insert the seed: one transaction per database, multi-row parameterized INSERTs. */
export async function loadSeed(port: number, s: Secrets, seed: Seed): Promise<void> {
  for (const dbName of LOGICAL_DATABASES) {
    const db = createDb(dbName, { dsn: `mysql://${s.mariadb_user}@127.0.0.1:${port}/${dbName}`, password: s.mariadb_password }, { connectionLimit: 1 });
    try {
      await db.transaction(async (tx) => {
        for (const t of seed[dbName]) {
          if (t.rows.length === 0) continue;
          const cols = Object.keys(t.rows[0]!);
          for (const c of [t.table, ...cols]) if (!/^[a-z_][a-z0-9_]*$/.test(c)) throw new Error(`seed: bad identifier ${c}`);
          const tuple = `(${cols.map(() => '?').join(', ')})`;
          for (let i = 0; i < t.rows.length; i += CHUNK) {
            const rows = t.rows.slice(i, i + CHUNK);
            const params = rows.flatMap((r) => cols.map((c) => r[c] ?? null));
            await tx.execute(`INSERT INTO \`${t.table}\` (${cols.map((c) => `\`${c}\``).join(', ')}) VALUES ${rows.map(() => tuple).join(', ')}`, params);
          }
        }
      });
    } finally {
      await db.close();
    }
  }
}

/** VM names and statuses as the houyi metadb has them now. */
export async function vmStatuses(port: number, s: Secrets): Promise<Map<string, string>> {
  const db = createDb('houyi', { dsn: `mysql://${s.mariadb_user}@127.0.0.1:${port}/houyi`, password: s.mariadb_password }, { connectionLimit: 1 });
  try {
    const rows = await db.query<{ name: string; status: string }>('SELECT name, status FROM vm');
    return new Map(rows.map((r) => [r.name, r.status]));
  } finally {
    await db.close();
  }
}
