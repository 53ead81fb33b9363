#!/usr/bin/env node
// Makes Temporal's time-skipping test server (Java, from Maven Central) available and prints the path
// of a launcher script for it. Idempotent: cached in .tools/temporal-test-server-<version>/.
// Needs Java 17+ and Maven (`mvn`). The launcher takes the port as its only argument, as the SDK's
// TestWorkflowEnvironment.createTimeSkipping expects.
//
// Usage: node scripts/provision-test-server.mjs   (stdout: the launcher's absolute path)
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const TEST_SERVER_VERSION = '1.31.0';
const projectRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = resolve(process.env.LONGRUN_TOOLS_DIR ?? join(projectRoot, '.tools'));
const home = join(toolsDir, `temporal-test-server-${TEST_SERVER_VERSION}`);
const launcher = join(home, 'test-server');

const POM = `<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.longrun</groupId>
  <artifactId>temporal-test-server-classpath</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>io.temporal</groupId>
      <artifactId>temporal-test-server</artifactId>
      <version>${TEST_SERVER_VERSION}</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-nop</artifactId>
      <version>2.0.16</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>3.6.1</version>
      </plugin>
    </plugins>
  </build>
</project>
`;

function fail(message) {
  process.stderr.write(`${message}\n`);
  process.exit(1);
}

if (!(existsSync(launcher) && existsSync(join(home, 'lib')) && readdirSync(join(home, 'lib')).length > 0)) {
  for (const tool of ['java', 'mvn']) {
    if (spawnSync(tool, ['-version'], { stdio: 'ignore' }).error) {
      fail(`The time-skipping test server needs Java 17+ and Maven; \`${tool}\` was not found on PATH.`);
    }
  }
  mkdirSync(home, { recursive: true });
  writeFileSync(join(home, 'pom.xml'), POM);
  process.stderr.write(
    `[provision-test-server] fetching io.temporal:temporal-test-server:${TEST_SERVER_VERSION} with Maven\n`
  );
  const result = spawnSync(
    'mvn',
    [
      '-q',
      '-B',
      '-f',
      join(home, 'pom.xml'),
      'dependency:copy-dependencies',
      `-DoutputDirectory=${join(home, 'lib')}`,
    ],
    { stdio: ['ignore', 2, 2] }
  );
  if (result.status !== 0)
    fail(`mvn dependency:copy-dependencies exited with ${result.status ?? result.signal}`);
  writeFileSync(
    launcher,
    `#!/bin/sh\nexec java -Xss1m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "${join(home, 'lib')}/*" io.temporal.testserver.TestServer "$@"\n`
  );
  chmodSync(launcher, 0o755);
}
process.stdout.write(`${launcher}\n`);
