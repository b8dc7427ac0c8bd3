import { ConflictError, InternalError } from '../core/errors.js';
import type { TaskRow } from './store.js';
import type { FlowDef, StepDef } from './types.js';

// The flows a binary knows, each with the step lists of its current and older versions. A task
// always runs the list of the version it was written with. A task of a flow or a version this
// binary does not know is shown by list/show but refused to run (UnknownFlowError, exit 9).

// The registry holds flows of many step-context types; each is only ever run with its own load().
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFlow = FlowDef<any, any>;

export class UnknownFlowError extends ConflictError {
  constructor(task: Pick<TaskRow, 'id' | 'flow' | 'flow_version'>, why: string) {
    super(`task ${task.id}: ${why}; this rdsctl does not run it`, { hint: 'run it with the rdsctl release that wrote it (see `rdsctl task show`), or cancel it' });
  }
}

export class FlowRegistry {
  private readonly byName = new Map<string, AnyFlow>();

  constructor(flows: readonly AnyFlow[]) {
    for (const f of flows) this.add(f);
  }

  /** Registration checks what the engine relies on; a broken flow is a program error (exit 1) at start-up of its first use. */
  private add(f: AnyFlow): void {
    if (!/^[a-z][a-z0-9_]{0,63}$/.test(f.name)) throw new InternalError(`flow name "${f.name}" is not [a-z][a-z0-9_]{0,63}`);
    if (this.byName.has(f.name)) throw new InternalError(`flow ${f.name} is registered twice`);
    if (!Number.isInteger(f.version) || f.version < 1) throw new InternalError(`flow ${f.name}: version ${f.version} is not a positive integer`);
    for (const [v, steps] of this.versions(f)) {
      const seen = new Set<string>();
      for (const s of steps) {
        const key = `${s.name}:${s.role}`;
        if (seen.has(key)) throw new InternalError(`flow ${f.name} v${v}: step ${key} is listed twice`);
        seen.add(key);
        if (!f.roles.includes(s.role)) throw new InternalError(`flow ${f.name} v${v}: step ${key} has a role the flow does not declare (${f.roles.join(', ')})`);
        if (!/^[a-z0-9_]{1,64}$/.test(s.name) || !/^[a-z0-9_]{1,32}$/.test(s.role)) throw new InternalError(`flow ${f.name} v${v}: step ${key}: names and roles are [a-z0-9_]`);
      }
      if (!steps.length) throw new InternalError(`flow ${f.name} v${v} has no steps`);
    }
    this.byName.set(f.name, f);
  }

  private versions(f: AnyFlow): Array<[number, ReadonlyArray<StepDef<unknown, unknown>>]> {
    const old = Object.entries(f.previous ?? {}).map(([v, s]) => [Number(v), s] as [number, ReadonlyArray<StepDef<unknown, unknown>>]);
    if (old.some(([v]) => v >= f.version)) throw new InternalError(`flow ${f.name}: an older version is not below the current ${f.version}`);
    return [[f.version, f.steps], ...old];
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  get(name: string): AnyFlow | null {
    return this.byName.get(name) ?? null;
  }

  /** The flow as a task of it runs: its steps are those of the task's version. null with the reason when unknown. */
  resolve(task: Pick<TaskRow, 'id' | 'flow' | 'flow_version'>): { flow: AnyFlow } | { unknown: string } {
    const f = this.byName.get(task.flow);
    if (!f) return { unknown: `flow "${task.flow}" is not known to this rdsctl (known: ${this.names().join(', ')})` };
    const v = task.flow_version;
    if (v === f.version) return { flow: f };
    const steps = f.previous?.[v];
    if (!steps) return { unknown: `flow ${task.flow} version ${v} is not known to this rdsctl (it runs version${f.previous ? 's' : ''} ${[f.version, ...Object.keys(f.previous ?? {})].join(', ')})` };
    return { flow: { ...f, version: v, steps } };
  }

  /** resolve(), or UnknownFlowError (exit 9) for a task this binary must not run. */
  forTask(task: Pick<TaskRow, 'id' | 'flow' | 'flow_version'>): AnyFlow {
    const r = this.resolve(task);
    if ('unknown' in r) throw new UnknownFlowError(task, r.unknown);
    return r.flow;
  }
}
