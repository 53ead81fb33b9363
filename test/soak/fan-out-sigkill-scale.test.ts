import { fanOutKillScenario } from '../support/fan-out-kill';

// The fan-out SIGKILL scenario at scale: 7,000 files, three kills while sub-steps run.
fanOutKillScenario(7_000, 3);
