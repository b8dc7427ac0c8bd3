import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { audited, parseMutationFlags, printPlan } from '../../core/mutation.js';
import { checkClientArgs, connectTarget, runClient } from '../../monitor/connect.js';

// `rdsctl instance connect NAME`: the mariadb client on the instance, audited from start to end.

export interface Options {
  name: string;
  standby: boolean;
  db?: string;
  user?: string;
  reason: string | null;
  dryRun: boolean;
  clientArgs: string[];
}

const NAME = /^[A-Za-z0-9_$-]{1,64}$/;
const USER = /^[A-Za-z0-9_.@-]{1,80}$/;

export function register(cmd: Command, run: Runner): void {
  cmd
    .argument('<name>', 'instance name (rm-…) or custins id')
    .argument('[client_args...]', 'after --: options for the mariadb client (-e SQL, -t, -E, …); login options are refused')
    .option('--standby', 'the standby instead of the master')
    .option('--db <database>', 'default database')
    .option('--user <account>', 'log in as this account; its password is asked on the terminal (default: the maintenance account)')
    .option('--reason <text>', 'why (recorded in the audit log with the session\'s start and end)')
    .option('--dry-run', 'show the target, the account and the client command line; connect to nothing')
    .addHelpText(
      'after',
      '\nRuns the system `mariadb` client with the terminal attached, logged in as the instance\'s maintenance\n' +
        'account (password from dbaas.custins_secret) or as --user with a password typed at a prompt. The\n' +
        'login reaches the client through a FIFO option file in a private 0700 directory, removed as soon\n' +
        'as the client has read it: never in a command line, an environment or a file left on disk. The\n' +
        'audit log records the start (OS user, account, target, --reason) and the end (exit code, duration).\n' +
        'Exit: the client\'s own exit code.\n' +
        examples('rdsctl instance connect rm-2ze1abcd --reason "INC-42 lock wait"', 'rdsctl instance connect rm-2ze1abcd --standby --db shop', 'rdsctl instance connect rm-2ze1abcd --user app', 'rdsctl instance connect rm-2ze1abcd -- -e "SHOW ENGINE INNODB STATUS\\G"'),
    )
    .action(async (name: string, clientArgs: string[], o: { standby?: boolean; db?: string; user?: string; reason?: string; dryRun?: boolean }) => {
      if (o.db !== undefined && !NAME.test(o.db)) throw new UsageError(`--db ${JSON.stringify(o.db)}: not a database name`);
      if (o.user !== undefined && !USER.test(o.user)) throw new UsageError(`--user ${JSON.stringify(o.user)}: not an account name`);
      const opts: Options = { name, standby: Boolean(o.standby), ...(o.db ? { db: o.db } : {}), ...(o.user ? { user: o.user } : {}), reason: parseMutationFlags(o).reason, dryRun: Boolean(o.dryRun), clientArgs: checkClientArgs(clientArgs) };
      return run((ctx) => connect(opts, ctx));
    });
}

/** A line typed on the terminal without echo. */
async function promptSecret(ctx: Context, question: string): Promise<string> {
  const stdin = ctx.io.stdin as NodeJS.ReadStream;
  if (!ctx.io.canPrompt || typeof stdin.setRawMode !== 'function') throw new UsageError('--user needs a terminal to ask for the password on');
  ctx.io.err(question);
  stdin.setRawMode(true);
  stdin.resume();
  try {
    return await new Promise<string>((resolve, reject) => {
      let buf = '';
      const onData = (d: Buffer): void => {
        for (const ch of d.toString('utf8')) {
          if (ch === '\r' || ch === '\n') return done(null);
          if (ch === '\u0003') return done(new UsageError('aborted at the password prompt'));
          if (ch === '\u007f' || ch === '\b') buf = buf.slice(0, -1);
          else buf += ch;
        }
      };
      const done = (e: Error | null): void => {
        stdin.off('data', onData);
        ctx.io.err('\n');
        if (e) reject(e);
        else resolve(buf);
      };
      stdin.on('data', onData);
    });
  } finally {
    stdin.setRawMode(false);
    stdin.pause();
  }
}

export async function connect(opts: Options, ctx: Context): Promise<number> {
  const c = await connectTarget(ctx, opts.name, { standby: opts.standby, ...(opts.user ? { user: opts.user } : {}) });
  if (opts.dryRun) {
    printPlan(ctx, {
      action: `connect to ${c.t.insName} ${c.t.role} as ${c.user}`,
      targets: [`${c.t.insName} ${c.t.role} ${c.t.host}:${c.t.port}`],
      remote: [{ host: 'this host', command: ['mariadb', `--defaults-file=<FIFO in a private 0700 directory: user, password, host, port${c.sslCa ? ', ssl, ssl-ca, ssl-verify-server-cert' : ''}>`, ...(opts.db ? ['<database in the option file>'] : []), ...opts.clientArgs].join(' ') }],
      notes: [c.sslCa ? `TLS required, the server certificate verified against ${c.sslCa} for ${c.t.ip}` : 'plain TCP: the instance has no certificates (installed before #16)', c.maintenance ? 'the password is the maintenance account\'s, from dbaas.custins_secret' : 'the password would be asked on the terminal', `MySQL ${c.t.ip}:${c.t.port}`],
    });
    return 0;
  }
  const password = c.maintenance ? await c.password() : await promptSecret(ctx, `password for ${c.user} on ${c.t.insName}: `);
  const target = `${c.t.insName} ${c.t.role} ${c.t.host}:${c.t.port}`;
  const started = ctx.clock.now().getTime();
  return audited(ctx, { command: 'instance connect', targets: [target], reason: opts.reason, detail: { account: c.user, db: opts.db ?? null, client_args: opts.clientArgs } }, async () => {
    if (ctx.io.stderrIsTTY) ctx.io.err(`connecting to ${target} as ${c.user}\n`);
    // Ctrl-C in the client cancels its query; it must not end rdsctl (and orphan the client).
    const release = ctx.holdInterrupts?.() ?? ((): void => undefined);
    if (ctx.signal.aborted) {
      release();
      return { value: 130, ok: false, exitCode: 130, detail: { account: c.user, error: 'interrupted before the client started' } };
    }
    let code: number;
    try {
      code = await runClient({ user: c.user, password, host: c.t.ip, port: c.t.port, ...(opts.db ? { database: opts.db } : {}), ...(c.sslCa ? { sslCa: c.sslCa } : {}), prompt: `${c.t.insName}(${c.t.role === 'master' ? 'master' : 'standby'})> ` }, opts.clientArgs, ctx.env);
    } finally {
      release();
    }
    return { value: code, ok: code === 0, exitCode: code, detail: { account: c.user, exit_code: code, duration_ms: ctx.clock.now().getTime() - started } };
  });
}
