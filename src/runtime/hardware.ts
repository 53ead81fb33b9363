import si from 'systeminformation';
import { HARDWARE_PROFILES, hardwareProfileOf, type HardwareProfile } from '../shared/durability';

export interface HardwareDescription {
  profile: HardwareProfile;
  cores: number;
  memoryBytes: number;
  /** True when LONGRUN_HARDWARE_PROFILE chose the profile. */
  overridden: boolean;
}

let measured: Promise<HardwareDescription> | undefined;

/**
 * This machine's description, measured once per process (systeminformation takes a few hundred ms)
 * and shared by every task the worker plans.
 */
export function describeHardware(): Promise<HardwareDescription> {
  measured ??= measureHardware();
  measured.catch(() => (measured = undefined)); // a failed measurement is retried next time
  return measured;
}

/**
 * Measures this machine (systeminformation) and picks its profile; LONGRUN_HARDWARE_PROFILE
 * ("small" or "standard") overrides the measurement.
 */
export async function measureHardware(env: NodeJS.ProcessEnv = process.env): Promise<HardwareDescription> {
  const [cpu, mem] = await Promise.all([si.cpu(), si.mem()]);
  const cores = cpu.cores;
  const memoryBytes = mem.total;
  const override = env.LONGRUN_HARDWARE_PROFILE;
  if (override) {
    if (!(HARDWARE_PROFILES as readonly string[]).includes(override)) {
      throw new Error(
        `LONGRUN_HARDWARE_PROFILE: must be one of ${HARDWARE_PROFILES.join(', ')}, got "${override}"`
      );
    }
    return { profile: override as HardwareProfile, cores, memoryBytes, overridden: true };
  }
  return { profile: hardwareProfileOf(cores, memoryBytes), cores, memoryBytes, overridden: false };
}
