import { fanOutKillScenario } from '../support/fan-out-kill';

// A codebase review fanned out over folders survives a worker SIGKILL (the soak tier: at scale).
fanOutKillScenario(1_400, 1);
