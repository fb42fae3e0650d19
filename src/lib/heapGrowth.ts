/**
 * How far V8 lets its old generation grow past the live heap before it collects it again.
 *
 * Most of what a delivery allocates lives as long as the delivery (tens of ms): long enough to be
 * promoted to the old generation, where it dies. Left to its own heuristic, V8 lets that garbage pile
 * up to about four times the live heap before a major collection, and the daemon's RSS follows.
 * HEAP_GROWTH_PERCENT collects it sooner (docs/performance.md#memory-v8s-old-generation).
 *
 * A V8 flag, set from inside the process: V8 reads this one each time it computes its next limit,
 * unlike the heap's sizes, which are fixed when the process starts. It also replaces the smaller
 * factors V8 picks under memory pressure. A --heap-growing-percent given to node on its command line
 * wins (node refuses it in NODE_OPTIONS).
 */
import v8 from 'node:v8';

export type HeapGrowth =
  /** Set to the percent given. */
  | { kind: 'capped'; percent: number }
  /** HEAP_GROWTH_PERCENT=0: V8's own heuristic. */
  | { kind: 'v8' }
  /** node was started with --heap-growing-percent: left as it is. */
  | { kind: 'node-option'; option: string };

const NODE_OPTION = /^--heap[-_]growing[-_]percent=/;

/** Applies HEAP_GROWTH_PERCENT to this process's V8 (once, at start); says what was done. */
export function applyHeapGrowth(percent: number, execArgv: readonly string[] = process.execArgv): HeapGrowth {
  const given = execArgv.find((arg) => NODE_OPTION.test(arg));
  if (given) return { kind: 'node-option', option: given };
  if (percent === 0) return { kind: 'v8' };
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  return { kind: 'capped', percent };
}
