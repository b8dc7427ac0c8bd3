import type { Context } from '../core/context.js';
import type { Db } from '../remote/mysql.js';
import type { HostLayout } from '../rds/layout.js';
import type { Lease } from './lease.js';
import type { TaskRow } from './store.js';

// The shape of a task flow (Pengine style): an ordered table of uniquely named steps, each with
// its role, timeout, skip rule and an idempotent execute. The engine (engine.ts) persists the
// state of every step in dbaas.task_step and never runs a step of a task it has no lease on.

export type StepRole = 'master' | 'slave' | 'both' | 'metadb';
export type StepStatus = 'pending' | 'running' | 'done' | 'failed' | 'skipped';
export type TaskStatus = 'pending' | 'running' | 'done' | 'failed' | 'cancelled' | 'paused';

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

export interface StepDef<C, N> {
  /** Unique within the flow together with its role (a name listed twice runs once per role). */
  name: string;
  role: StepRole;
  timeoutSec: number;
  /**
   * What the step changes. 'remote': files or servers on the NCs, so it must have a probe;
   * 'metadb': rows in dbaas, written in a fenced transaction; 'check': nothing, it only verifies.
   */
  effect: 'remote' | 'metadb' | 'check';
  /** The rule, in words, for `instance step list -o wide` and the README. */
  skipRule?: string;
  /** Why the step does not apply to this task (recorded as skip_reason), or null when it does. */
  skip?: (c: C) => string | null;
  /** For a re-run (resume, retry, goto): is the effect already in place? Then the step is done. */
  probe?: (c: C, nodes: N[], s: StepScope) => Promise<boolean>;
  /** The idempotent execute. Returns a one-line detail for task_step.detail. */
  run: (c: C, nodes: N[], s: StepScope) => Promise<string | void>;
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
  task: TaskRow;
  lease: Lease;
  /** Aborted on Ctrl-C and on a lost lease. */
  signal: AbortSignal;
}

export interface FlowDef<C, N> {
  name: string;
  steps: ReadonlyArray<StepDef<C, N>>;
  /** Build the step context from the metadb. Runs at the start of every run: a resume rebuilds it. */
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
}
