import type { Context } from '../core/context.js';
import type { Db } from '../remote/mysql.js';
import type { HostLayout } from '../rds/layout.js';
import type { FlowBase } from './base.js';
import type { Lease } from './lease.js';
import type { TaskStore } from './store.js';
import type { TaskRow } from './store.js';

// The shape of a task flow (Pengine style): an ordered table of uniquely named steps, each with
// its role, timeout, skip rule and an idempotent execute. The engine (engine.ts) persists the
// state of every step through a TaskStore and never runs a step of a task it has no lease on.
// The engine knows nothing of any one flow: roles, targets and parameters are the flow's own.

/** A role the flow defines ('master', 'slave', 'both', 'metadb' for install; 'nc', 'source', … for others). */
export type StepRole = string;
export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';
export type TaskStatus = 'pending' | 'running' | 'done' | 'failed' | 'cancelled' | 'paused';
export const TASK_STATUSES: readonly TaskStatus[] = ['pending', 'running', 'paused', 'done', 'failed', 'cancelled'];

/** What a task acts on: an instance (id = custins id), an NC (id = hostname), a backup set, … */
export interface Target {
  kind: string;
  id: string;
}

/** A small JSON value a step records for later steps (a binlog position, a chosen host). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

/** A node as a dry run knows it before the task exists: allocated, nothing written yet. */
export interface PlanNode {
  role: 'master' | 'slave';
  host: string;
  ip: string;
  port: number;
  layout: HostLayout;
}

/** What a dry run knows of the instance besides the node. */
export interface PlanInfo {
  insName: string;
  timeZone: string;
  /** The other node of the pair. */
  peer: PlanNode;
}

/** What a step's execute and probe get besides the flow context. */
export interface StepScope {
  /** Aborted on the step's timeout, Ctrl-C and a lost lease: pass it to every remote call. */
  signal: AbortSignal;
  /** How many times the step started before this one (0 on the first run). */
  attempt: number;
}

/** What run() may return: a one-line detail, and/or a JSON result later steps read with base.result(). */
export type StepOutcome = string | void | { detail?: string; result?: JsonValue };

export interface StepDef<C, N> {
  /** Unique within the flow together with its role (a name listed twice runs once per role). */
  name: string;
  role: StepRole;
  timeoutSec: number;
  /**
   * What the step changes. 'remote': files or servers on the hosts, so it should have a probe
   * (a re-run asks it first) unless running it again is itself cheap and harmless;
   * 'metadb': rows in dbaas, written in a fenced transaction; 'check': nothing, it only verifies.
   */
  effect: 'remote' | 'metadb' | 'check';
  /** The rule, in words, for `instance step list -o wide` and the README. */
  skipRule?: string;
  /** Why the step does not apply to this task (recorded as skip_reason), or null when it does. */
  skip?: (c: C) => string | null;
  /** For a re-run (resume, retry, goto): is the effect already in place? Then the step is done. */
  probe?: (c: C, nodes: N[], s: StepScope) => Promise<boolean>;
  /** The idempotent execute. Returns a one-line detail for task_step.detail and/or a JSON result. */
  run: (c: C, nodes: N[], s: StepScope) => Promise<StepOutcome>;
  /**
   * For --dry-run (required of 'remote' steps): what run() would execute on one node: the shell
   * command it sends over SSH, or, where it talks SQL or its command depends on earlier results,
   * a description of exactly that. Never runs anything.
   */
  plan?: (n: PlanNode, v: PlanInfo) => string[];
  /**
   * Consecutive entries with the same group run at the same time: the master and slave variants
   * of a step, or neighbours that touch different things. A group still starts after the entry
   * before it has finished and ends before the entry after it starts.
   */
  group?: string;
}

/** What a flow run gives the flow to build its step context from. */
export interface FlowEnv {
  ctx: Context;
  db: Db;
  store: TaskStore;
  task: TaskRow;
  lease: Lease;
  /** Aborted on Ctrl-C and on a lost lease. */
  signal: AbortSignal;
  /** The lease-checked remote command, the fenced transaction, polling, the clock, earlier results. */
  base: FlowBase;
}

export interface FlowDef<C, N> {
  /** task_queue.flow */
  name: string;
  /** task_queue.flow_version of the tasks this binary writes; bump it whenever `steps` changes. */
  version: number;
  /** The target kind of its tasks ('instance', 'nc', 'backup', …). */
  targetKind: string;
  /** The step list of `version`. */
  steps: ReadonlyArray<StepDef<C, N>>;
  /**
   * The step lists of older versions whose tasks may still be in flight: a task always runs the
   * list of the version it was written with. Remove a version once no task of it is unfinished.
   */
  previous?: Readonly<Record<number, ReadonlyArray<StepDef<C, N>>>>;
  /** Every role its steps use (checked when the flow is registered). */
  roles: readonly StepRole[];
  /** Throws UsageError for a parameter that would make a later step fail: called before anything is written. */
  validateParams?(params: Record<string, unknown>): void;
  /** Build the step context. Runs at the start of every run: a resume rebuilds it. */
  load(env: FlowEnv): Promise<C>;
  /** The nodes a step of this role acts on (empty for metadb steps). */
  nodesOf(c: C, role: StepRole): N[];
  hostName(n: N): string;
  /** Inside the fenced transaction that starts a run (e.g. a failed custins goes back to creating). */
  onRun?(c: C, tx: Db): Promise<void>;
  /** Inside the fenced transaction that marks the task done ("notify Yaochi"). */
  onDone(c: C, tx: Db): Promise<void>;
  /** Inside the fenced transaction that marks the task failed. */
  onFail?(c: C, tx: Db, error: string): Promise<void>;
  /** Inside the fenced transaction that marks the task cancelled (without the step context: a cancel must work even when load() cannot). */
  onCancel?(tx: Db, task: TaskRow): Promise<void>;
}
