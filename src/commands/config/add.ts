import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline/promises';
import { Writable } from 'node:stream';
import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { LOGICAL_DATABASES, writeConfig, type LogicalDb } from '../../core/config.js';
import { ConflictError, UsageError } from '../../core/errors.js';
import { wholeNumber } from '../../core/flags.js';
import { buildProfile, dsnArg, metadbArg, profileName, type NewProfileInput } from '../../core/profile-new.js';

// `rdsctl config add NAME`: a new profile. Flags when there is no terminal (CI, runbooks);
// on a terminal, what the flags left out is asked for, the password without echo. A password
// never comes from argv: --password-stdin, --password-env VAR, or the prompt.

export interface Options {
  input: NewProfileInput;
  passwordStdin: boolean;
  use: boolean;
  force: boolean;
}

interface Flags {
  metadb?: string;
  dbUser?: string;
  dsn?: Partial<Record<LogicalDb, string>>;
  passwordStdin?: boolean;
  passwordEnv?: string;
  sshUser?: string;
  sshPort?: number;
  identityFile?: string;
  knownHosts?: string;
  jumpHost?: string;
  rolesSource?: string;
  auditLog?: string;
  tlsCa?: string;
  use?: boolean;
  force?: boolean;
}

export function register(cmd: Command, run: Runner): void {
  cmd
    .argument('<name>', 'profile name (letters, digits, _ . -)')
    .option('--metadb <host:port>', `the MariaDB holding every logical database (${LOGICAL_DATABASES.join(', ')})`)
    .option('--db-user <user>', 'metadb user for --metadb (default rdsctl)')
    .option('--dsn <db=dsn>', 'one logical database elsewhere: DB=mysql://user@host:port/database (repeatable)', (v: string, prev?: Partial<Record<LogicalDb, string>>) => dsnArg(v, prev))
    .option('--password-stdin', 'read the metadb password from the first line of stdin')
    .option('--password-env <var>', 'store the name of an environment variable holding the password instead of the password')
    .option('--ssh-user <user>', 'SSH user on NCs and VMs (default root)')
    .option('--ssh-port <port>', 'SSH port (default 22)', wholeNumber('--ssh-port', 1, 65535, 'a port from 1 to 65535'))
    .option('--identity-file <path>', 'SSH private key')
    .option('--known-hosts <path>', 'known_hosts file the host keys are checked against')
    .option('--jump-host <user@host:port>', 'a bastion in front of the NCs')
    .option('--roles-source <src>', 'table (operator roles from dbaas.operator, the default) or none')
    .option('--audit-log <path>', 'local audit log (JSONL)')
    .option('--tls-ca <pem>', "the CA that issues the MySQL servers' certificates: every metadb connection is then TLS, checked against it")
    .option('--use', 'make it the current profile')
    .option('--force', 'replace a profile of the same name')
    .addHelpText(
      'after',
      '\nOn a terminal, a missing --metadb, user and password are asked for (the password without echo).\n' +
        'Without one, everything comes from flags and the password from --password-stdin or --password-env.\n' +
        'An existing profile of that name is refused (exit 9) unless --force.\n' +
        examples(
          'rdsctl config add prod-hz',
          'printf "%s\\n" "$PW" | rdsctl config add prod-hz --metadb 10.1.2.3:3306 --db-user rdsctl --password-stdin --ssh-user admin --use',
          'rdsctl config add stg --metadb db.stg:3306 --password-env STG_DB_PW --dsn tianji=mysql://tj@10.9.0.4:3306/tianji',
          'rdsctl config add prod-bj --metadb 10.2.0.5:3306 --password-env BJ_DB_PW --tls-ca /etc/rdsctl/rds-ca.pem',
        ),
    )
    .action(async (name: string, o: Flags) => {
      if (o.passwordStdin && o.passwordEnv) throw new UsageError('give either --password-stdin or --password-env, not both');
      if (o.rolesSource !== undefined && o.rolesSource !== 'table' && o.rolesSource !== 'none') throw new UsageError(`--roles-source ${o.rolesSource}: must be table or none`);
      if (o.passwordEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]{0,127}$/.test(o.passwordEnv)) throw new UsageError(`--password-env ${o.passwordEnv}: not an environment variable name`);
      const opts: Options = {
        input: {
          name: profileName(name),
          ...(o.metadb !== undefined ? { metadb: metadbArg(o.metadb) } : {}),
          ...(o.dbUser !== undefined ? { dbUser: o.dbUser } : {}),
          dsns: o.dsn ?? {},
          ...(o.passwordEnv !== undefined ? { passwordEnv: o.passwordEnv } : {}),
          ssh: { user: o.sshUser, port: o.sshPort, identity_file: o.identityFile, known_hosts: o.knownHosts, jump_host: o.jumpHost },
          ...(o.rolesSource ? { rolesSource: o.rolesSource as 'table' | 'none' } : {}),
          ...(o.auditLog ? { auditLog: o.auditLog } : {}),
          ...(o.tlsCa !== undefined ? { tlsCa: tlsCaArg(o.tlsCa) } : {}),
        },
        passwordStdin: Boolean(o.passwordStdin),
        use: Boolean(o.use),
        force: Boolean(o.force),
      };
      return run((ctx) => add(opts, ctx));
    });
}

/**
 * `--tls-ca PEM`: checked now, so that a typo is not first met as every metadb being "not trusted".
 * Stored as the absolute path: the profile is read from other working directories.
 */
function tlsCaArg(v: string): string {
  const file = path.resolve(v);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`--tls-ca ${v}: cannot read it (${(e as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!/-----BEGIN CERTIFICATE-----/.test(text)) throw new UsageError(`--tls-ca ${v}: not a PEM certificate (no BEGIN CERTIFICATE line)`);
  if (/[\0\n]/.test(file)) throw new UsageError('--tls-ca: the path holds a newline or NUL');
  return file;
}

export async function add(opts: Options, ctx: Context): Promise<void> {
  const cfg = ctx.config();
  if (cfg.profiles.some((p) => p.name === opts.input.name) && !opts.force) {
    throw new ConflictError(`profile "${opts.input.name}" already exists in ${ctx.configPath}`, { hint: 'rerun with --force to replace it, or `rdsctl config delete` it first' });
  }
  const input = { ...opts.input };
  if (opts.passwordStdin) input.password = await stdinLine(ctx);
  else if (ctx.io.canPrompt) await ask(ctx, input);
  const profile = buildProfile(input);
  const profiles = [...cfg.profiles.filter((p) => p.name !== profile.name), profile];
  writeConfig(ctx.configPath, { ...cfg, profiles, ...(opts.use ? { current: profile.name } : {}) });
  ctx.io.err(`profile "${profile.name}" ${cfg.profiles.some((p) => p.name === profile.name) ? 'replaced' : 'added'} in ${ctx.configPath}${opts.use ? '; it is the current profile' : ''}\n`);
}

async function stdinLine(ctx: Context): Promise<string> {
  if (ctx.io.stdinIsTTY) throw new UsageError('--password-stdin reads a pipe, not a terminal');
  let text = '';
  for await (const chunk of ctx.io.stdin) text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
  const line = text.split(/\r?\n/)[0] ?? '';
  if (!line) throw new UsageError('--password-stdin: no password on stdin');
  return line;
}

/**
 * On a terminal: ask for what the flags did not give. Enter keeps the default shown. readline runs
 * in terminal mode (it echoes what is typed through `out`), so muting `out` hides the password;
 * answers are read from its line iterator, which keeps lines typed ahead of their question.
 */
async function ask(ctx: Context, input: NewProfileInput): Promise<void> {
  let muted = false;
  const out = new Writable({
    write: (chunk, _enc, done) => {
      if (!muted) ctx.io.stderr.write(chunk);
      done();
    },
  });
  // Terminal mode only on a real terminal: there readline turns the kernel's echo off and echoes
  // itself; anything else (a test's stream) echoes nothing.
  const rl = createInterface({ input: ctx.io.stdin, output: out, terminal: Boolean((ctx.io.stdin as { isTTY?: boolean }).isTTY) });
  const lines = rl[Symbol.asyncIterator]();
  const answer = async (): Promise<string> => {
    const next = await lines.next();
    if (next.done) throw new UsageError('config add: input ended before every question was answered');
    return String(next.value);
  };
  try {
    const q = async (text: string, dflt?: string): Promise<string> => {
      ctx.io.stderr.write(`${text}${dflt ? ` [${dflt}]` : ''}: `);
      return (await answer()).trim() || dflt || '';
    };
    if (input.metadb === undefined && Object.keys(input.dsns).length === 0) input.metadb = metadbArg(await q('metadb HOST:PORT (holds every logical database)'));
    if (input.metadb !== undefined && input.dbUser === undefined) input.dbUser = await q('metadb user', 'rdsctl');
    if (input.passwordEnv === undefined) {
      ctx.io.stderr.write('metadb password (not echoed; empty for none): ');
      muted = true;
      const pw = await answer();
      muted = false;
      ctx.io.stderr.write('\n');
      if (pw) input.password = pw;
    }
    if (input.ssh.user === undefined) input.ssh.user = await q('SSH user', 'root');
  } finally {
    rl.close();
  }
}
