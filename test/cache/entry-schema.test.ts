/**
 * The lock entry's published JSON Schema and the committed lock of the playground:
 * schema/lock-entry.schema.json is generated from the schema every read validates with
 * (src/cache/entry-schema.ts), so what is published is what is enforced
 * (`npx vitest run test/cache/entry-schema.test.ts -u` rewrites it after a change); and
 * every entry of playground/mugraph.lock reads back valid in this version's lock format
 * (after a format change, `npm run playground:warm` rewrites them).
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CACHE_SCHEMA } from '../../src/cache/key.js';
import { lockEntryJSONSchema } from '../../src/cache/entry-schema.js';
import { EntryDirectory } from '../../src/cache/store.js';

const ROOT = join(import.meta.dirname, '../..');
const PLAYGROUND_LOCK = join(ROOT, 'playground/mugraph.lock');

describe('schema/lock-entry.schema.json', () => {
  it('is the JSON Schema of the entries this version reads and writes', async () => {
    const schema = lockEntryJSONSchema();
    expect(schema).toMatchObject({ $schema: 'https://json-schema.org/draft/2020-12/schema', additionalProperties: false });
    expect((schema.properties as Record<string, unknown>).schema).toMatchObject({ const: CACHE_SCHEMA });
    await expect(`${JSON.stringify(schema, null, 2)}\n`).toMatchFileSnapshot(join(ROOT, 'schema/lock-entry.schema.json'));
  });
});

describe('the playground lock', () => {
  it(`holds only valid entries in lock format ${CACHE_SCHEMA}`, async () => {
    const lock = new EntryDirectory(PLAYGROUND_LOCK);
    const keys = await lock.keys();
    expect(keys.length).toBeGreaterThan(0);
    expect(await readdir(PLAYGROUND_LOCK)).toEqual(keys.map((key) => `${key}.json`)); // nothing else in it
    for (const key of keys) {
      const stored = await lock.read(key);
      expect(stored?.entry.schema).toBe(CACHE_SCHEMA);
      expect(await readFile(stored!.file, 'utf8')).not.toMatch(/compileSeconds|adapter/);
    }
  });
});
