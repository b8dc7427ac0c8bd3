import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import type { Context } from './context.js';
import type { AuditIntent } from './audit.js';
import { describeError, ExitCode, UsageError } from './errors.js';
import { jsonText, termSafe, termSafeLines } from './output.js';

// How every state-changing command behaves (design convention 8): --dry-run prints exactly what
// would be done and changes nothing; destructive actions ask first (or need --yes without a
// TTY); --reason is recorded; an audit intent is written before acting and a result after.

export interface MutationFlags {
  dryRun: boolean;
  yes: boolean;
  reason: string | null;
}

export function addMutationOptions(cmd: Command, o: { confirm?: boolean } = {}): Command {
  cmd.option('--dry-run', 'print the targets, SQL and remote commands that would run, then exit; changes nothing');
  cmd.option('--reason <text>', 'why (recorded in the audit log)');
  if (o.confirm) cmd.option('-y, --yes', 'do not ask for confirmation (required when there is no TTY)');
  return cmd;
}

export function parseMutationFlags(o: { dryRun?: boolean; yes?: boolean; reason?: string }): MutationFlags {
  const reason = o.reason === undefined ? null : o.reason.trim();
  if (reason !== null && (reason.length === 0 || reason.length > 1024 || /[\0\r\n]/.test(reason))) {
    throw new UsageError('--reason must be one line of 1-1024 characters');
  }
  return { dryRun: Boolean(o.dryRun), yes: Boolean(o.yes), reason };
}

/**
 * For actions whose "why" the next operator cannot work out from the result (a step skipped, a
 * disk taken out): no --reason, no action. A dry run changes nothing and needs none.
 */
export function requireReason(flags: MutationFlags, command: string, why: string): void {
  if (!flags.dryRun && flags.reason === null) throw new UsageError(`${command} needs --reason: ${why}`);
}

/** What a mutation would do: shown by --dry-run and in confirmation prompts. */
export interface Plan {
  action: string;
  targets: string[];
  sql?: Array<{ db: string; statement: string; params?: unknown[] }>;
  remote?: Array<{ host: string; command: string }>;
  notes?: string[];
  /** Command-specific structure for -o json (e.g. create's per-step listing), merged at the top level. */
  extra?: Record<string, unknown>;
}

export function printPlan(ctx: Context, plan: Plan, format: 'text' | 'json' = 'text'): void {
  if (format === 'json') {
    const { extra, ...rest } = plan;
    ctx.io.out(jsonText({ dry_run: true, ...rest, ...extra }));
    return;
  }
  const lines = [`dry run: ${plan.action}`, `targets (${plan.targets.length}): ${plan.targets.join(', ') || '-'}`];
  for (const s of plan.sql ?? []) lines.push(`sql [${s.db}]: ${s.statement.replace(/\s+/g, ' ').trim()}${s.params?.length ? `  -- params ${JSON.stringify(s.params)}` : ''}`);
  for (const r of plan.remote ?? []) lines.push(`remote [${r.host}]: ${r.command}`);
  for (const n of plan.notes ?? []) lines.push(`note: ${n}`);
  ctx.io.out(lines.map(termSafe).join('\n') + '\n');
}

/** "3 targets: a, b, c" with at most `max` names, so a thousand-host fan-out stays one screen. */
export function targetSummary(targets: readonly string[], max = 20): string {
  const shown = targets.slice(0, max).join(', ');
  const more = targets.length > max ? `, … and ${targets.length - max} more` : '';
  return `${targets.length} target${targets.length === 1 ? '' : 's'}: ${shown}${more}`;
}

/**
 * Ask before a destructive action, showing what it touches (count and names) when `targets` is
 * given. Without a TTY there is nobody to ask: --yes is required, and its absence is a usage
 * error before anything runs.
 */
export async function confirm(ctx: Context, question: string, flags: Pick<MutationFlags, 'yes'>, targets?: readonly string[]): Promise<void> {
  if (flags.yes) return;
  if (!ctx.io.canPrompt) {
    throw new UsageError(`${question.split('\n')[0]} needs confirmation: rerun with --yes (no TTY to ask on${targets ? `; ${targetSummary(targets)}` : ''})`);
  }
  const rl = createInterface({ input: ctx.io.stdin, output: ctx.io.stderr, terminal: true });
  try {
    const answer = await rl.question(`${termSafeLines(question)}\n${targets ? `  ${termSafe(targetSummary(targets))}\n` : ''}Proceed? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new UsageError('aborted: not confirmed');
  } finally {
    rl.close();
  }
}

/**
 * Run a mutation under audit: the intent is fsynced before `act` starts (so a kill mid-way
 * leaves an intent without a result), the result after, whether it succeeded or threw.
 */
export async function audited<T>(ctx: Context, intent: AuditIntent, act: () => Promise<{ value: T; ok?: boolean; exitCode?: number; detail?: Record<string, unknown> }>): Promise<T> {
  const audit = ctx.audit();
  const id = await audit.intent(intent);
  try {
    const r = await act();
    await audit.result(id, { ok: r.ok ?? true, exitCode: r.exitCode ?? ExitCode.OK, detail: r.detail, intent });
    return r.value;
  } catch (err) {
    const d = describeError(err);
    await audit.result(id, { ok: false, exitCode: d.exitCode, detail: { error: d.message }, intent }).catch(() => undefined);
    throw err;
  }
}

/**
 * A change a domain module checked and made ready, without doing any of the talking: the plan
 * `--dry-run` shows, what the audit records, and apply(), which checks again where it must and
 * writes. The command layer prints, confirms, audits and applies (applyAudited).
 */
export interface PlannedChange<T> {
  plan: Plan;
  audit: { command: string; targets: string[]; detail: Record<string, unknown> };
  apply(): Promise<T>;
  /** Detail of the result record, from what apply() returned. */
  resultDetail?(value: T): Record<string, unknown>;
}

/** apply() between an audit intent and its result; `reason` is the operator's --reason. */
export function applyAudited<T>(ctx: Context, change: PlannedChange<T>, reason: string | null | undefined): Promise<T> {
  return audited(ctx, { ...change.audit, reason }, async () => {
    const value = await change.apply();
    return { value, ...(change.resultDetail ? { detail: change.resultDetail(value) } : {}) };
  });
}
