import type { Context } from '../core/context.js';
import { audited } from '../core/mutation.js';
import type { HostTarget } from '../remote/ssh-types.js';

// An interactive shell on one NC or VM: the system OpenSSH with the terminal attached, so the
// operator's ~/.ssh/config, agent and ControlMaster apply. Audited like any remote command: the
// log shows who opened a shell where and why, and how it ended.

export interface ShellRequest {
  verb: string;
  target: HostTarget;
  acceptNew: boolean;
  reason: string | null;
}

export async function openShell(ctx: Context, req: ShellRequest): Promise<number> {
  const { interactiveSsh } = await import('../remote/interactive.js');
  const route = req.target.via ? `${req.target.via.name} → ${req.target.name}` : req.target.name;
  return audited(ctx, { command: req.verb, targets: [req.target.name], reason: req.reason, detail: { command: '(interactive shell)', route } }, async () => {
    const code = await interactiveSsh(ctx.profile(), req.target, { io: ctx.io, acceptNew: req.acceptNew, signal: ctx.signal });
    return { value: code, ok: code === 0, exitCode: code };
  });
}
