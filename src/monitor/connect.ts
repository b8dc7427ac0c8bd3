import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Context } from '../core/context.js';
import { ConflictError, NotFoundError, UnavailableError, UsageError } from '../core/errors.js';
import { SUPERUSER, secretOf } from '../rds/accounts.js';
import { findCustins } from '../rds/custins.js';
import { targetOf, type MonitorTarget } from './targets.js';
import { instanceTrust } from '../rds/instance-tls.js';

// `instance connect`: the system `mariadb` client on an instance, with the terminal attached.
// The login (user, password, address) reaches the client through an option file that is a FIFO
// in a private 0700 directory: the client reads it once at start-up, rdsctl removes it right
// after, and the password is never on a command line, in an environment or in a file on disk.

export interface ClientLogin {
  user: string;
  password: string;
  host: string;
  port: number;
  database?: string;
  prompt?: string;
  /** The CA file (jump host) for an instance with certificates: TLS required, the server's certificate checked for `host`. */
  sslCa?: string;
}

/** Client flags that would override or reveal the login; everything else (-e, -t, -E, …) passes through. */
const LOGIN_FLAGS = /^(-p|-u|-h|-P|-S|--password|--user|--host|--port|--socket|--protocol|--defaults|--no-defaults|--print-defaults|--login-path|--init-command|--ssl|--skip-ssl|--disable-ssl|--tls)/;

export function checkClientArgs(args: string[]): string[] {
  for (const a of args) {
    const m = LOGIN_FLAGS.exec(a);
    // Only the flag is named: what follows it may be a password.
    if (m) throw new UsageError(`client option ${m[1]}… is not allowed: rdsctl sets the login (use --user, --db, --standby)`);
    if (a.includes('\0')) throw new UsageError('client argument contains a NUL byte');
  }
  return args;
}

/** An option-file value in double quotes, with the escapes the MariaDB option-file parser undoes. */
export function optionValue(v: string): string {
  if (/[\0\r\n]/.test(v)) throw new UsageError('a login value cannot contain a line break or NUL');
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function optionFileText(l: ClientLogin): string {
  const lines = ['[client]', `user=${optionValue(l.user)}`, `password=${optionValue(l.password)}`, `host=${optionValue(l.host)}`, `port=${l.port}`];
  if (l.database) lines.push(`database=${optionValue(l.database)}`);
  if (l.sslCa) lines.push('ssl', `ssl-ca=${optionValue(l.sslCa)}`, 'ssl-verify-server-cert');
  if (l.prompt) lines.push('[mysql]', `prompt=${optionValue(l.prompt)}`);
  return lines.join('\n') + '\n';
}

export interface ConnectTarget {
  t: MonitorTarget;
  user: string;
  maintenance: boolean;
}

export async function connectTarget(ctx: Context, ref: string, o: { standby: boolean; user?: string }): Promise<ConnectTarget & { password: () => Promise<string>; sslCa?: string }> {
  const db = ctx.db('dbaas');
  const c = await findCustins(db, ref);
  if (c.status !== 'running') throw new ConflictError(`instance ${c.ins_name} is ${c.status}, not running`);
  const t = await targetOf(db, c.id, o.standby ? 'slave' : 'master');
  if (!t) throw new NotFoundError(`instance ${c.ins_name} has no ${o.standby ? 'standby' : 'master'} in dbaas`);
  const user = o.user ?? SUPERUSER;
  const tls = await instanceTrust(db, c.id, c.ins_name);
  return { t, user, maintenance: o.user === undefined, password: () => secretOf(db, c.id, SUPERUSER), ...(tls ? { sslCa: tls.ca } : {}) };
}

/**
 * Run `mariadb` with the terminal attached and the login from a FIFO option file. Resolves to
 * the client's exit code (128+N when it died of signal N).
 */
export async function runClient(login: ClientLogin, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const base = env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR) && fs.existsSync(env.XDG_RUNTIME_DIR) ? env.XDG_RUNTIME_DIR : os.tmpdir();
  const dir = fs.mkdtempSync(path.join(base, 'rdsctl-connect-'));
  fs.chmodSync(dir, 0o700);
  const fifo = path.join(dir, 'client.cnf');
  try {
    try {
      execFileSync('mkfifo', ['-m', '600', fifo], { stdio: 'ignore' });
    } catch {
      throw new UnavailableError('mkfifo failed: cannot hand the login to the client without a file on disk');
    }
    const childEnv = { ...env };
    // The client would read these; the login is ours alone.
    for (const k of ['MYSQL_PWD', 'MYSQL_HOST', 'MYSQL_TCP_PORT', 'MYSQL_UNIX_PORT', 'MYSQL_TEST_LOGIN_FILE']) delete childEnv[k];
    const { execa } = await import('execa');
    const child = execa('mariadb', [`--defaults-file=${fifo}`, ...args], { stdio: 'inherit', reject: false, env: childEnv, extendEnv: false });
    // Opening a FIFO for writing waits for the reader (the client at start-up); then the file goes.
    let handed = false;
    const hand = (async () => {
      const h = await fs.promises.open(fifo, 'w');
      try {
        await h.write(optionFileText(login));
      } finally {
        await h.close();
        handed = true;
        fs.rmSync(dir, { recursive: true, force: true });
      }
    })();
    const r = await child;
    if (!handed) {
      // The client ended before reading its options: open the reading end so the writer returns.
      try {
        fs.closeSync(fs.openSync(fifo, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK));
      } catch {
        /* already gone */
      }
    }
    await hand.catch(() => undefined);
    if (r.code === 'ENOENT') throw new UnavailableError('the mariadb client is not installed', { hint: 'apt-get install -y mariadb-client' });
    if (r.exitCode !== undefined) return r.exitCode;
    if (r.signal) return 128 + (os.constants.signals[r.signal] ?? 0);
    return 1;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
