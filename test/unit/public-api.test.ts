/**
 * Every named longrun type used in a public signature is exported from the entry point that exposes
 * it, so a user can name it (checked with the TypeScript compiler on the sources).
 */
import { join } from 'node:path';
import { publicExports, unexportedSignatureTypes } from '../support/public-api';

const SRC = join(__dirname, '..', '..', 'src');

jest.setTimeout(120_000);

test.each([
  ['longrun', 'index.ts'],
  ['longrun/client', join('client', 'index.ts')],
  ['longrun/worker', join('worker', 'index.ts')],
])('%s exports every type its public signatures use', (_entry, file) => {
  expect(unexportedSignatureTypes(join(SRC, file))).toEqual({});
});

test('the root entry point offers the client and action authoring, not the worker', () => {
  const names = publicExports(join(SRC, 'index.ts'));
  expect(names).toEqual(
    expect.arrayContaining(['LongrunClient', 'TaskHandle', 'defineAction', 'TransientError'])
  );
  expect(names).not.toContain('createLongrunWorker');
  expect(publicExports(join(SRC, 'worker', 'index.ts'))).toEqual(
    expect.arrayContaining(['createLongrunWorker', 'loadConfig', 'defineAction'])
  );
});
