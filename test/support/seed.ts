/**
 * Seeds for the randomised tests, so that any failure can be replayed:
 *
 * - the variable named by `envVar` (e.g. CHAOS_SEED=123) wins, to replay a run;
 * - else under CI (CI=true) a fixed seed, so CI runs the same cases every time and a red CI is
 *   reproduced by running the same file;
 * - else a fresh random seed, so local runs keep exploring.
 *
 * The seed is printed either way, with the command line that replays it.
 */
export function testSeed(name: string, envVar: string, ciSeed: number): number {
  const given = process.env[envVar];
  let seed: number;
  let source: string;
  if (given !== undefined && given !== '') {
    seed = Number(given);
    if (!Number.isSafeInteger(seed)) throw new Error(`${envVar} must be an integer, got "${given}"`);
    source = envVar;
  } else if (process.env.CI === 'true' || process.env.CI === '1') {
    seed = ciSeed;
    source = 'fixed under CI';
  } else {
    seed = Math.floor(Math.random() * 2 ** 31);
    source = 'random';
  }
  console.log(`[seed] ${name}: ${seed} (${source}); replay with ${envVar}=${seed}`);
  return seed;
}
