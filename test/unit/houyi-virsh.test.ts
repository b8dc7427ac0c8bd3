import { execFileSync } from 'node:child_process';
import { RemoteError } from '../../src/core/errors.js';
import { BadRowError } from '../../src/rds/domain.js';
import { allowedFrom, confirmingState, domainUuid, domstateCommand, houyiStatus, parseDomstate, powerCommand } from '../../src/houyi/virsh.js';

describe('virsh commands', () => {
  it('maps actions to virsh verbs', () => {
    expect(powerCommand('start', 'vm-001')).toBe('virsh start vm-001');
    expect(powerCommand('stop', 'vm-001')).toBe('virsh shutdown vm-001');
    expect(powerCommand('reboot', 'vm-001')).toBe('virsh reboot vm-001');
    expect(domstateCommand('vm-001')).toBe('virsh domstate vm-001');
  });

  // The domain name comes from the metadb; a hostile one must arrive as one argv word.
  test.each(["vm'; touch /tmp/x; '", 'vm$(id)', 'vm`id`', 'vm *', 'vm\nid', 'a b', '-rf'])('quotes the domain %j so a shell sees one word', (name) => {
    const cmd = powerCommand('start', name);
    const argv = JSON.parse(execFileSync('sh', ['-c', `printf_json() { node -e 'process.stdout.write(JSON.stringify(process.argv.slice(1)))' -- "$@"; }; set -- ${cmd}; printf_json "$@"`], { encoding: 'utf8' })) as string[];
    expect(argv).toEqual(['virsh', 'start', name]);
  });
});

describe('domain UUID from houyi', () => {
  it('accepts a libvirt UUID (lower-cased) and nothing else, naming table, key and column', () => {
    expect(domainUuid({ name: '1', uuid: '6F1C2B7E-0A3D-4C55-A1B2-0123456789AB' })).toBe('6f1c2b7e-0a3d-4c55-a1b2-0123456789ab');
    for (const uuid of [null, '', '1', 'vm-001', '6f1c2b7e-0a3d-4c55-a1b2-0123456789ab; reboot', '6f1c2b7e0a3d4c55a1b20123456789ab', '-6f1c2b7e-0a3d-4c55-a1b2-0123456789a']) {
      let err: unknown;
      try {
        domainUuid({ name: '1', uuid });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(BadRowError);
      expect((err as Error).message).toMatch(/^metadb row houyi\.vm name=1: column uuid holds .*, which is not a libvirt domain UUID/);
    }
  });
});

describe('virsh domstate', () => {
  test.each([
    ['running\n\n', 'running'],
    ['shut off\n', 'shut off'],
    ['  paused  \n', 'paused'],
    ['in shutdown\n', 'in shutdown'],
    ['shut off (shutdown)\n', 'shut off'],
  ])('parses %j', (out, state) => {
    expect(parseDomstate(out, 'nc-a01')).toBe(state);
  });

  it('refuses output it does not know, naming the host', () => {
    expect(() => parseDomstate('error: failed to get domain\n', 'nc-a01')).toThrow(RemoteError);
    expect(() => parseDomstate('', 'nc-a01')).toThrow(/nc-a01/);
  });

  it('maps domain states to houyi statuses', () => {
    expect(houyiStatus('running')).toBe('running');
    expect(houyiStatus('shut off')).toBe('stopped');
    expect(houyiStatus('in shutdown')).toBe('stopping');
    expect(confirmingState('stop')).toBe('shut off');
    expect(confirmingState('reboot')).toBe('running');
    expect(allowedFrom('start')).toEqual(['stopped']);
    expect(allowedFrom('stop')).toEqual(['running']);
  });
});
