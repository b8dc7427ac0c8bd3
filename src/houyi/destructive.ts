// Remote commands that can destroy data or take a host down. A fan-out whose command matches one
// asks first (or needs --yes without a TTY), whatever the operator's role: one typo multiplied by a
// node set is how a jump host breaks production. This is a seat belt against slips, not a sandbox:
// a determined `eval "$(printf …)"` gets through, and the audit log still records it.

export interface DestructivePattern {
  /** Short name shown in the prompt and the audit, e.g. "rm -r/-f". */
  name: string;
  re: RegExp;
}

// A command word: at the start or after ; & | ( { ` $( — past wrappers like sudo, xargs, nohup,
// timeout N, sh -c — and with an optional directory (/sbin/reboot). `grep reboot log` is not one.
const WRAP = String.raw`(?:(?:sudo|nohup|exec|time|xargs|env|command|nice|ionice|setsid|timeout\s+\S+|chroot\s+\S+|(?:ba|da|z)?sh\s+-c)\s+(?:-\S+\s+)*)*`;
const W = String.raw`(?:^|[;&|({\x60\n]|\$\()\s*${WRAP}(?:\S*/)?`;
const END = String.raw`(?=$|[\s;&|()<>\x60])`;
/** Arguments up to the next separator, then one more word boundary. */
const ARGS = String.raw`\s+(?:[^;&|\n]*\s)?`;

const cmd = (words: string, rest = END): RegExp => new RegExp(`${W}(?:${words})${rest}`);

export const DESTRUCTIVE_PATTERNS: readonly DestructivePattern[] = [
  { name: 'rm -r/-f', re: cmd('rm', String.raw`${ARGS}(?:-[a-zA-Z]*[rRf][a-zA-Z]*|--recursive|--force)${END}`) },
  { name: 'find -delete', re: cmd('find', String.raw`\s[^;&|\n]*(?:-delete|-exec\s+(?:\S*/)?(?:rm|shred|truncate)\b)`) },
  { name: 'shred', re: cmd('shred') },
  { name: 'truncate', re: cmd('truncate', String.raw`${ARGS}(?:-s|--size)`) },
  { name: 'reboot/shutdown', re: cmd('reboot|shutdown|halt|poweroff|kexec') },
  { name: 'init 0/6', re: cmd('init|telinit', String.raw`\s+[06]${END}`) },
  { name: 'systemctl reboot/poweroff', re: cmd('systemctl', String.raw`${ARGS}(?:reboot|poweroff|halt|kexec|emergency|rescue)${END}`) },
  { name: 'sysrq', re: /\/proc\/sysrq-trigger/ },
  { name: 'mkfs', re: cmd(String.raw`mkfs(?:\.\w+)?|mke2fs|mkswap|wipefs`) },
  { name: 'partition table', re: cmd('fdisk|sfdisk|sgdisk|parted|pvremove|vgremove|lvremove') },
  { name: 'dd', re: cmd('dd', String.raw`\s[^;&|\n]*\bof=`) },
  { name: 'write to a block device', re: />\s*\/dev\/(?:sd|nvme|vd|xvd|hd|md|dm-|mapper\/)/ },
  { name: 'iptables -F', re: cmd('ip6?tables|ebtables', String.raw`${ARGS}(?:-[a-zA-Z]*[FX][a-zA-Z]*|--flush|--delete-chain)${END}`) },
  { name: 'nft flush', re: cmd('nft', String.raw`${ARGS}(?:flush|delete)${END}`) },
  { name: 'kill -9', re: cmd('kill', String.raw`${ARGS}(?:-9|-KILL|-SIGKILL|-s\s*(?:9|KILL|SIGKILL))${END}`) },
  { name: 'killall/pkill', re: cmd('killall|pkill') },
  { name: 'chmod/chown -R', re: cmd('chmod|chown|chgrp', String.raw`${ARGS}(?:-[a-zA-Z]*R[a-zA-Z]*|--recursive)${END}`) },
  { name: 'virsh destroy/undefine', re: cmd('virsh', String.raw`${ARGS}(?:destroy|undefine|shutdown|reboot|reset)${END}`) },
  { name: 'stop a service', re: cmd(String.raw`systemctl${ARGS}(?:stop|disable|mask|kill)|service\s+\S+\s+stop`) },
  { name: 'mysqladmin shutdown', re: cmd('mysqladmin', String.raw`\s[^;&|\n]*\bshutdown\b`) },
  { name: 'DROP/TRUNCATE/DELETE (SQL)', re: /\b(?:drop\s+(?:database|schema|table|user)|truncate\s+table|delete\s+from)\b/i },
  { name: 'fork bomb', re: /:\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}/ },
];

/**
 * The first destructive pattern the command matches, or null. Quotes and backslashes are removed
 * first so that `'rm' -rf`, `r\m -rf` and `"reboot"` are seen for what the shell makes of them.
 */
export function destructiveMatch(command: string): DestructivePattern | null {
  const seen = command.replace(/['"\\]/g, '');
  return DESTRUCTIVE_PATTERNS.find((p) => p.re.test(seen)) ?? null;
}
