import { allViolations } from '../tianji/model.js';
import { violationLine } from '../tianji/view.js';
import type { Check } from './types.js';

export const tianjiCheck: Check = {
  name: 'tianji',
  summary: 'no cluster or machine violates the Tianji deployment rules (service_roles, role_apps, app_error)',
  async run({ ctx }) {
    const r = await allViolations(ctx.db('tianji'));
    if (r.violations.length === 0) return { status: 'ok', reason: `${r.sr_instances} SR instances, no rule violation`, details: { sr_instances: r.sr_instances, violations: [] } };
    return {
      status: 'fail',
      reason: `${r.violations.length} rule violation${r.violations.length === 1 ? '' : 's'}; first: ${violationLine(r.violations[0]!)}`,
      details: { sr_instances: r.sr_instances, violations: r.violations },
    };
  },
};
