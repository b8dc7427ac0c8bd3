import type { FlowDef } from '../flow/types.js';
import type { Node } from '../rds/layout.js';
import { haNodesOf, loadHaCtx, type HaCtx } from './context.js';
import { recordEvent } from './records.js';
import * as st from './steps.js';

// The planned switchover and the failover, as flows of the task engine: leased, fenced,
// resumable at every step boundary (each step is idempotent; remote ones probe first on a re-run).

export const SWITCHOVER_FLOW_NAME = 'switchover';
export const FAILOVER_FLOW_NAME = 'failover';

export const SWITCHOVER_STEPS = [
  st.doCheckSwitchoverReady,
  st.doBlockDataRoute,
  st.doSetReadonlyOnOldMaster,
  st.doWaitStandbyCatchUp,
  st.doPromoteStandby,
  // before the route opens: the first writes to the new master find its semi-sync standby connected
  st.doReplicateFromNewMaster,
  st.doRepointDataRoute,
  st.doSwitchRolesInMetadb,
  st.doRewriteMycnfBoth,
];

export const FAILOVER_STEPS = [
  st.doBlockDataRoute,
  st.doFenceOldMaster,
  st.doCheckStandbyData,
  st.doPromoteLoneStandby,
  st.doRepointDataRoute,
  st.doSwitchRolesInMetadb,
  st.doMarkOldMasterForRebuild,
  st.doRewriteMycnfNewMaster,
];

function haFlow(name: string, steps: typeof SWITCHOVER_STEPS, kind: 'switchover' | 'failover'): FlowDef<HaCtx, Node> {
  return {
    name,
    version: 1,
    targetKind: 'instance',
    roles: ['master', 'slave', 'both', 'metadb'],
    steps,
    load: loadHaCtx,
    nodesOf: haNodesOf,
    hostName: (n) => n.host,
    async onDone(c, tx) {
      await recordEvent(tx, {
        custinsId: c.base.custins.id,
        kind,
        oldMaster: c.from.instanceId,
        newMaster: c.to.instanceId,
        taskId: c.base.task.id,
        actor: c.params.requested_by ?? c.base.task.created_by ?? null,
        detail: `${c.from.host} -> ${c.to.host}; route ${c.route.route.ip}:${c.route.route.port} -> ${c.to.ip}:${c.to.port}${c.params.cause ? `; cause: ${c.params.cause}` : ''}${c.params.accept_data_loss ? '; --accept-data-loss' : ''}`,
      });
    },
    async onFail(c, tx, error) {
      await recordEvent(tx, { custinsId: c.base.custins.id, kind: 'alert', oldMaster: c.from.instanceId, newMaster: c.to.instanceId, taskId: c.base.task.id, detail: `${kind} failed: ${error}` });
    },
  };
}

export const switchoverFlow = haFlow(SWITCHOVER_FLOW_NAME, SWITCHOVER_STEPS, 'switchover');
export const failoverFlow = haFlow(FAILOVER_FLOW_NAME, FAILOVER_STEPS, 'failover');
