import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { taskSpecSchema } from '../../src/shared/spec';

const EXAMPLES = join(__dirname, '..', '..', 'examples');

describe('example spec files', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.json'));

  it('exist', () => {
    expect(files.length).toBeGreaterThanOrEqual(2);
  });

  it.each(files)('%s is a valid task spec', (file) => {
    const result = taskSpecSchema().safeParse(JSON.parse(readFileSync(join(EXAMPLES, file), 'utf8')));
    expect(result.error?.issues ?? []).toEqual([]);
  });
});
