import { UsageError } from '../core/errors.js';

/** Tianji names (products, clusters, services, hosts): what the model uses, nothing else. */
export function nameArg(value: string, what: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/.test(value)) throw new UsageError(`${what} "${value}": not a Tianji name (letters, digits, _ . : -)`);
  return value;
}
