/**
 * The list of catalog migrations: the runner applies them in the list's order and takes the last as the
 * newest it knows, so the list must be in ascending order of version, each version once: a merge that
 * puts a later number before earlier ones would apply them out of order and make daemons refuse the catalog.
 */
import { expect, test } from 'vitest';
import { migrations } from '../../src/sql/migrations/index.js';

test('migrations are listed once each, in ascending order of version', () => {
  const versions = migrations.map((m) => m.version);
  expect(versions).toEqual([...new Set(versions)].sort((a, b) => a - b));
  expect(new Set(migrations.map((m) => m.name)).size).toBe(migrations.length);
});
