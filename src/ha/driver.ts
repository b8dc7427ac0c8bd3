import type { Profile } from '../core/config.js';
import type { SshPool } from '../remote/ssh-types.js';
import { HaproxyRouteDriver } from './haproxy.js';
import type { RouteDriver } from './route.js';

// The proxy layer a profile's routes live on. Today every profile's proxy hosts run HAProxy;
// another layer (maxscale, an SLB API) is chosen here by the profile when it exists.
export function routeDriver(ssh: SshPool, profile: Pick<Profile, 'host_root'>): RouteDriver {
  return new HaproxyRouteDriver(ssh, profile);
}
