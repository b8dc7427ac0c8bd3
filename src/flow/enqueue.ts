import { InternalError } from '../core/errors.js';
import type { AnyFlow } from './registry.js';
import { checkTarget, type TaskParams, type TaskStore } from './store.js';
import type { Target } from './types.js';

// The one way to write a task: create, delete and every later flow enqueue through here. The
// task records its flow's name and current version, its target, and all its steps (pending).

/** The flow's own checks of its parameters (UsageError, exit 2): call before anything is written. */
export function validateParams(flow: AnyFlow, params: TaskParams): void {
  flow.validateParams?.(params);
}

/**
 * Write a task of `flow` on `target`. Pass a store over the caller's transaction
 * (`sqlStore(tx)`) to write it together with the caller's rows, or over the pool to write it
 * on its own. custinsId ties a task whose target is not the instance to one (e.g. a backup set).
 */
export async function enqueue(store: TaskStore, flow: AnyFlow, target: Target, params: TaskParams, o: { createdBy: string; custinsId?: number }): Promise<number> {
  checkTarget(target);
  // A flow enqueued on the wrong kind of target is a bug in its caller (exit 1).
  if (target.kind !== flow.targetKind) throw new InternalError(`flow ${flow.name} acts on ${flow.targetKind} targets, not ${target.kind}`);
  validateParams(flow, params);
  const custinsId = o.custinsId ?? (target.kind === 'instance' ? Number(target.id) : null);
  if (custinsId !== null && !Number.isSafeInteger(custinsId)) throw new InternalError(`instance target id "${target.id}" is not a custins id`);
  return store.insertTask({
    target,
    custinsId,
    flow: flow.name,
    flowVersion: flow.version,
    params,
    createdBy: o.createdBy,
    steps: (flow.steps as ReadonlyArray<{ name: string; role: string }>).map((s) => ({ name: s.name, role: s.role })),
  });
}
