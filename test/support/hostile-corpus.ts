// Inputs an operator, a runbook or a copy-paste accident may hand rdsctl where it expects a name,
// key=value, a node set, a step, a CIDR, a number or a path. Every one must end in a one-line
// usage/not-found error or in correct handling; none may reach SQL or a shell unescaped.
//
// Payloads that would prove an injection leave traces the tests look for: `touch MARKER` (a file
// that must never appear), `rm` of CANARY (a file in a lab host's root that must stay), and SQL
// against the canary table dbaas.redlines_canary (which must keep its one row).

export const CANARY_TABLE = 'redlines_canary';
/** Relative to a lab host's root; the remote shell sees the root as $RDS_HOST_ROOT. */
export const CANARY_FILE = 'tmp/redlines-canary-file';

/** The corpus, with `marker` (an absolute path) in the payloads that would create it. */
export function hostileCorpus(marker: string): string[] {
  const M = marker;
  const R = `$RDS_HOST_ROOT/${CANARY_FILE}`;
  const T = `dbaas.${CANARY_TABLE}`;
  const base = [
    // quotes
    "'", '"', '`', "''", '""', "nc-a01'", 'nc-a01"', "vm-001' OR '1'='1", '" OR ""="', "' OR 1=1 -- ", "x'y", 'x"y', "\\'", "nc-a01\\'; id; '",
    // semicolons, pipes, redirection, background
    ';', 'nc-a01;id', `nc-a01; touch ${M}`, `; rm -f ${R}`, `x;rm -f "${R}"`, `| touch ${M}`, `nc-a01 | touch ${M}`, `&& touch ${M}`, `|| touch ${M}`, `& touch ${M} &`,
    `> ${M}`, `>> ${M}`, `< /etc/passwd`, `nc-a01 > ${M}`, '\ntouch /tmp/x',
    // command substitution, variables, arithmetic
    '$(id)', `$(touch ${M})`, `$(rm -f ${R})`, 'nc-a$(echo 01)', '${IFS}', '$HOME', '${HOME}', '$((1+1))', '$((2**64))', `\${PATH:0:1}bin\${PATH:0:1}touch ${M}`, `"$(touch ${M})"`, `'$(touch ${M})'`,
    // backticks
    '`id`', `\`touch ${M}\``, `nc-a01\`touch ${M}\``, '`', '``',
    // globs, braces, history, tilde
    '*', '?', 'nc-a0*', 'nc-a0?', '[a-z]*', '{a,b}', `{touch,${M}}`, '**/*', '!!', '~', '~root', '~/.ssh/id_rsa',
    // node-set syntax pushed too far
    'nc-a[1-100000000]', 'nc-a[01-99999999999999999999]', 'nc-a[]', 'nc-a[', 'nc-a[02-01]', 'nc-a[a-z]', 'nc-a[-1-3]', 'nc-a[1-3/0]', 'nc-a[1-3/-1]', '[' .repeat(2000), ']'.repeat(2000), '@', '@cluster:', '@zone:', '@cluster:$(id)', `@zone:;touch ${M}`, '@nosuchkind:x', '!', '!nc-a01', '&', 'nc-a01!nc-a01', 'nc-a[01-02]&nc-a[03-04]', ',', ',,,', 'nc-a01,,nc-a02', 'nc-a01 nc-a02',
    // newlines, carriage returns, NUL, other control characters, ANSI escapes
    'nc-a01\nnc-a02', '\n', '\r\n', 'x\rrdsctl: forged line', 'nc-a01\n--yes', 'vm-001\0', '\0', '\0; rm -rf /', 'a\0b', '\t', '\x1b[2J\x1b[H', '\x1b]0;pwned\x07', 'x\x08\x08\x08y', '\x7f', '\v\f', '\u0085', '\u2028', '\u2029',
    // very long (131072 bytes is the most one argument can carry through execve)
    'a'.repeat(256), 'a'.repeat(65_536), `nc-${'a'.repeat(10_000)}`, "'".repeat(5000), '%'.repeat(3000), `${'nc-a01,'.repeat(5000)}nc-a01`, '9'.repeat(400), `${'('.repeat(500)}${')'.repeat(500)}`, 'x'.repeat(131_072),
    // unicode look-alikes and oddities
    'nc‐a01', 'nc‑a01', 'nc–a01', 'nc-а01', 'nс-a01', 'nc-a0１', 'ｎｃ-a01', 'nc-a01\u200b', '\u202enc-a01', 'nc-a01\ufeff', 'nc-a01\u0301', 'NC-A01', 'İnc', 'K', 'ß', '💥', '𝐧𝐜-a01', '\ud800', '\uffff', 'vm‐001', 'rm‐abc', 'cs-a04：sdb', 'cs-a04∶sdb', '１０.0.0.0/8', '10．0.0.0/8', '10.0.0.0∕8', 'rte‐bp1', 'vpc‐bp1',
    // numbers: negative, zero, huge, float, exotic forms
    '-1', '0', '-2147483649', '2147483648', '4294967296', '18446744073709551616', '9007199254740993', '1e308', '1e400', '-1e400', 'NaN', 'Infinity', '-Infinity', '0x10', '010', '1.5', '.5', '+1', ' 1', '1 ', '١٢٣', '½', '99999999999999999999999999999',
    // SQL comment markers and injection
    '--', '-- ', 'x-- ', '/*', '*/', '/**/', '#', 'x /*!50000 OR 1=1*/', "'; --", "' #", '1 OR 1=1', '1) OR (1=1', "x' UNION SELECT user, password FROM mysql.user -- ",
    `x'; DROP TABLE ${T}; -- `, `x"; DROP TABLE ${T}; -- `, `1; DROP TABLE ${T}`, `'); DELETE FROM ${T}; -- `, `x' AND SLEEP(5) -- `, `x' OR SLEEP(5)='`, "x\\' OR 1=1 -- ", '%', '_', 'x%', '%nc%', 'nc-a0_', '\\%', '\\', '\\\\', "0x27 OR 1=1", 'NULL', 'undefined', 'true', 'false',
    // prototype keys, format strings, templates
    '__proto__', 'constructor', 'toString', 'hasOwnProperty', '%s%s%s%n', '{0}', '${process.exit(1)}', '{{7*7}}', '<script>alert(1)</script>', '&lt;x&gt;',
    // option-looking values and empties
    '', ' ', '-', '--help', '--version', '--yes', '--dry-run', '--profile=x', '-o', '-rf',
    // CIDR-ish and address-ish
    '0.0.0.0/0', '10.0.0.0/33', '10.0.0.0/-1', '256.0.0.0/8', '10.0.0.0/8/8', '::/0', '10.0.0.1/32;', '1.2.3.4/24', '10.0.0.0/08', '010.0.0.0/8', '10.0.0.0 /8', '10.0.0.0/8\n', '10.0.0.0/8 OR 1=1', '999.999.999.999', '127.0.0.1', '255.255.255.255', '1.2.3', '0177.0.0.1', '2130706433', 'localhost', 'fe80::1%eth0',
    // key=value shapes
    '=', '=x', 'x=', 'a=b=c', 'vm_name=', 'vm_name=vm-001&nc_name=x', 'VM_NAME=vm-001', 'vm_name =vm-001', '__proto__=x', 'constructor=x',
    // step names and disk names
    ':', 'do_init:', ':slave', 'do_make_dir:slave:master', 'do_init;', 'do_init\n', '81', '9999999', 'cs-a04:', ':sdb', 'cs-a04:sdb:sdc', 'cs-a04:../sdb', 'cs-a04:sdb;id',
    // paths
    '/', '.', '..', '../../etc/passwd', '/etc/passwd', '/dev/null', '/dev/zero', '/proc/self/mem', 'a/../../b', './x', '/tmp/../etc/shadow', 'file:///etc/passwd',
  ];
  return [...new Set(base)];
}

/** A short label for a corpus entry in failure messages. */
export function label(v: string): string {
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}…(${v.length} chars)` : s;
}
