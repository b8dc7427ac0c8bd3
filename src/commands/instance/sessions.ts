import type { Command } from 'commander';
import { examples, type Runner } from '../../core/command.js';
import type { Context } from '../../core/context.js';
import { addOutputOption, parseOutput, printRecords, type OutputFormat } from '../../core/output.js';
import { listSessions, type SessionView } from '../../monitor/sessions.js';

// `rdsctl instance sessions NAME`: the processlist, long transactions first.

export interface Options {
  name: string;
  standby: boolean;
  output: OutputFormat;
}

export function register(cmd: Command, run: Runner): void {
  cmd.argument('<name>', 'instance name (rm-…) or custins id');
  addOutputOption(cmd)
    .option('--standby', 'the standby instead of the master')
    .addHelpText(
      'after',
      '\nThe server\'s processlist joined with information_schema.INNODB_TRX: sessions holding an InnoDB\n' +
        'transaction first, oldest transaction first, then the longest-running statements. rdsctl\'s own\n' +
        'session is left out; secrets in statements are masked. Kill one with `rdsctl instance kill`.\n' +
        'JSON fields: ins_name, role, host, port, sessions: [{id, user, host, db, command, time_sec, state,\n' +
        'info, trx_id, trx_started, trx_age_sec, trx_state, trx_rows_locked, trx_rows_modified}].\n' +
        examples('rdsctl instance sessions rm-2ze1abcd', 'rdsctl instance sessions rm-2ze1abcd --standby -o json | jq ".sessions[0]"'),
    )
    .action(async (name: string, o: { standby?: boolean; output: string }) => run((ctx) => sessions({ name, standby: Boolean(o.standby), output: parseOutput(o.output) }, ctx)));
}

/** One line, control characters shown as escapes, so a statement cannot redraw the terminal. */
export function oneLine(s: string | null, max: number): string | null {
  if (s === null) return null;
  const flat = s.replace(/\s+/g, ' ').replace(/[\x00-\x1f\x7f-\x9f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).trim();
  return flat.length > max ? flat.slice(0, max - 1) + '…' : flat;
}

export async function sessions(opts: Options, ctx: Context): Promise<void> {
  const r = await listSessions(ctx, opts.name, { standby: opts.standby });
  if (opts.output === 'json') {
    ctx.io.out(JSON.stringify(r, null, 2) + '\n');
    return;
  }
  printRecords<SessionView>(ctx.io, opts.output, [
    { header: 'ID', value: (s) => s.id, align: 'right' },
    { header: 'USER', value: (s) => oneLine(s.user, 32) },
    { header: 'HOST', value: (s) => oneLine(s.host, 40) },
    { header: 'DB', value: (s) => oneLine(s.db, 32) },
    { header: 'COMMAND', value: (s) => s.command },
    { header: 'TIME', value: (s) => s.time_sec, align: 'right', tone: (s) => (s.time_sec >= 60 && s.command !== 'Sleep' ? 'warn' : undefined) },
    { header: 'TRX_AGE', value: (s) => s.trx_age_sec, align: 'right', tone: (s) => ((s.trx_age_sec ?? 0) >= 60 ? 'bad' : undefined) },
    { header: 'LOCKED', value: (s) => s.trx_rows_locked, align: 'right' },
    { header: 'MODIFIED', value: (s) => s.trx_rows_modified, align: 'right', wide: true },
    { header: 'STATE', value: (s) => oneLine(s.state, 40), wide: true },
    { header: 'INFO', value: (s) => oneLine(s.info, opts.output === 'table' ? 60 : 1024) },
  ], r.sessions);
  if (opts.output !== 'tsv') ctx.io.err(`${r.ins_name} ${r.role} ${r.host}:${r.port}: ${r.sessions.length} session${r.sessions.length === 1 ? '' : 's'}, ${r.sessions.filter((s) => s.trx_id).length} in a transaction\n`);
}
