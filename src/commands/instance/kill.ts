import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { UsageError } from '../../core/errors.js';
import { addMutationOptions, audited, confirm, parseMutationFlags, printPlan, type MutationFlags } from '../../core/mutation.js';
import { addOutputOption, parseOutput, printSections, type OutputFormat } from '../../core/output.js';
import { killSession, killStatement, killTarget } from '../../monitor/sessions.js';
import { oneLine } from './sessions.js';

// `rdsctl instance kill NAME SESSION_ID`: end a session (or only its statement) on a server.

export interface Options {
  name: string;
  id: number;
  query: boolean;
  standby: boolean;
  output: OutputFormat;
  flags: MutationFlags;
}

export function register(cmd: Command, run: Runner): void {
  cmd.argument('<name>', 'instance name (rm-…) or custins id').argument('<session_id>', 'the session (thread) id from `rdsctl instance sessions`');
  addOutputOption(cmd);
  addMutationOptions(cmd, { confirm: true })
    .option('--query', 'end only the running statement (KILL QUERY); the connection stays')
    .option('--standby', 'the session is on the standby')
    .addHelpText(
      'after',
      '\nShows the session and asks first (--yes without a TTY). Server and replication threads (system\n' +
        'user, Binlog Dump, Slave_*) are refused with exit 9; an id that is not there is exit 3. Audited\n' +
        'with the session\'s user, host, statement and --reason. JSON: {ins_name, role, host, port,\n' +
        'session, killed (connection|query), after (the session afterwards, null when gone)}.\n' +
        examples('rdsctl instance kill rm-2ze1abcd 4711 --reason "runaway report query"', 'rdsctl instance kill rm-2ze1abcd 4711 --query --yes'),
    )
    .action(async (name: string, id: string, o: { output: string; query?: boolean; standby?: boolean; dryRun?: boolean; yes?: boolean; reason?: string }) => {
      if (!/^\d{1,19}$/.test(id) || !Number.isSafeInteger(Number(id)) || Number(id) < 1) throw new UsageError(`session id ${JSON.stringify(id)}: a positive whole number (the ID column of \`instance sessions\`)`);
      const opts: Options = { name, id: Number(id), query: Boolean(o.query), standby: Boolean(o.standby), output: parseOutput(o.output), flags: parseMutationFlags(o) };
      return run((ctx) => kill(opts, ctx));
    });
}

export async function kill(opts: Options, ctx: Context): Promise<void> {
  const t = await killTarget(ctx, opts.name, opts.id, { standby: opts.standby });
  const s = t.session;
  const what = `${opts.query ? 'the statement of ' : ''}session ${s.id} (${s.user}@${s.host}${s.db ? ` db ${s.db}` : ''}, ${s.command} ${s.time_sec}s${s.info ? `: ${oneLine(s.info, 80)}` : ''}) on ${t.ins_name} ${t.role} ${t.host}:${t.port}`;
  const target = `${t.ins_name} ${t.role} ${t.host}:${t.port} session ${s.id}`;
  if (opts.flags.dryRun) {
    printPlan(ctx, { action: `kill ${what}`, targets: [target], remote: [{ host: `${t.host}:${t.port}`, command: killStatement(s.id, opts.query) }] }, opts.output === 'json' ? 'json' : 'text');
    return;
  }
  await confirm(ctx, `Kill ${what}?`, opts.flags);
  const r = await audited(ctx, { command: 'instance kill', targets: [target], reason: opts.flags.reason, detail: { session: s.id, user: s.user, client: s.host, db: s.db, info: s.info, query_only: opts.query } }, async () => {
    const value = await killSession(ctx, opts.name, opts.id, { standby: opts.standby, query: opts.query });
    return { value, detail: { killed: value.killed, gone: value.after === null } };
  });
  printSections(ctx.io, opts.output, [
    {
      title: 'Killed',
      fields: [
        ['instance', `${r.ins_name} ${r.role} ${r.host}:${r.port}`],
        ['session', r.session.id],
        ['killed', r.killed],
        ['now', r.after ? `${r.after.command}${r.after.info ? ' (statement still running)' : ''}` : 'gone'],
      ],
    },
  ], r);
}
