/** Vitest global setup: one PostgreSQL server for the whole run, its URL provided to every test file. */
import type { TestProject } from 'vitest/node';
import { provisionPostgres } from './provisionPostgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const started = Date.now();
  let pg;
  try {
    pg = await provisionPostgres();
  } catch (error) {
    // One line that says what failed, not a stack from inside the provisioning.
    const line = `[test] PostgreSQL could not be started for the tests: ${(error as Error).message}`;
    const failure = new Error(line);
    failure.stack = line;
    throw failure;
  }
  project.provide('pgAdminUrl', pg.adminUrl);
  console.log(`[test] PostgreSQL from ${pg.kind}, ready in ${Date.now() - started} ms`);
  return () => pg.stop();
}
