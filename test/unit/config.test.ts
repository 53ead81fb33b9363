import { loadConfig } from '../../src/runtime/config';

describe('loadConfig', () => {
  it('defaults to the embedded dev server and a data folder under the working directory', () => {
    const config = loadConfig({}, '/srv/app');
    expect(config.address).toBeUndefined();
    expect(config.namespace).toBe('default');
    expect(config.taskQueue).toBe('longrun');
    expect(config.dataDir).toBe('/srv/app/.longrun');
    expect(config.artifactDir).toBe('/srv/app/.longrun/artifacts');
    expect(config.devPort).toBe(7233);
    expect(config.tls).toBe(false);
    expect(config.maxCheckpointIntervalMs).toBe(1_000);
    expect(config.progressReportMs).toBe(30_000);
  });

  it('reads the progress cadences and refuses out-of-range ones', () => {
    expect(loadConfig({ LONGRUN_PROGRESS_REPORT_MS: '0' }, '/w').progressReportMs).toBe(0);
    expect(loadConfig({ LONGRUN_PROGRESS_REPORT_MS: '5000' }, '/w').progressReportMs).toBe(5_000);
    expect(() => loadConfig({ LONGRUN_PROGRESS_REPORT_MS: '10' }, '/w')).toThrow(
      'LONGRUN_PROGRESS_REPORT_MS="10": must be 0 (off) or 1000 to 3600000'
    );
    const defaults = loadConfig({}, '/w');
    expect([defaults.heartbeatsPerSecond, defaults.liveProgressMs]).toEqual([100, 1_000]);
    expect(loadConfig({ LONGRUN_LIVE_PROGRESS_MS: '0' }, '/w').liveProgressMs).toBe(0);
    expect(() => loadConfig({ LONGRUN_LIVE_PROGRESS_MS: '50' }, '/w')).toThrow(
      'LONGRUN_LIVE_PROGRESS_MS="50": must be 0 (off) or 100 to 60000'
    );
    expect(() => loadConfig({ LONGRUN_HEARTBEATS_PER_SECOND: '-1' }, '/w')).toThrow(
      'LONGRUN_HEARTBEATS_PER_SECOND="-1"'
    );
  });

  it('uses an existing cluster with TLS when TEMPORAL_ADDRESS and an API key are set', () => {
    const config = loadConfig({ TEMPORAL_ADDRESS: 'ns.acct.tmprl.cloud:7233', TEMPORAL_API_KEY: 'k' }, '/w');
    expect(config.address).toBe('ns.acct.tmprl.cloud:7233');
    expect(config.tls).not.toBe(false);
  });

  it('never prints the value of a secret variable, even when it is the bad one', () => {
    expect(() =>
      loadConfig({ TEMPORAL_API_KEY: '', LONGRUN_WEBHOOK_SECRET: 'x'.repeat(5000) }, '/w')
    ).not.toThrow();
    let message = '';
    try {
      loadConfig({ LONGRUN_DEV_PORT: 'x', TEMPORAL_API_KEY: 'SECRET-MARKER' }, '/w');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('LONGRUN_DEV_PORT="x"');
    expect(message).not.toContain('SECRET-MARKER');
  });

  it('names the variable and the rule for a bad value', () => {
    expect(() => loadConfig({ LONGRUN_DEV_PORT: '99999' }, '/w')).toThrow(/LONGRUN_DEV_PORT="99999": /);
    expect(() => loadConfig({ TEMPORAL_TLS: 'maybe' }, '/w')).toThrow(
      /TEMPORAL_TLS="maybe": must be true\/false/
    );
    expect(() => loadConfig({ TEMPORAL_TLS_CERT: '/c.pem' }, '/w')).toThrow(
      'TEMPORAL_TLS_CERT: must be set together with TEMPORAL_TLS_KEY'
    );
  });
});
