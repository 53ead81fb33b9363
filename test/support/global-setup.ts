import { temporalCliPath } from '../../src/dev/temporal-cli';

/** Provisions the Temporal CLI once (build or cache hit) and hands its path to every test file. */
export default function globalSetup(): void {
  process.env.LONGRUN_TEMPORAL_CLI = temporalCliPath();
}
