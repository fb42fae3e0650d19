/**
 * How far V8 lets its old generation grow past the live heap before it collects it again.
 *
 * While the daemon delivers, most of what an event allocates lives as long as its delivery (tens of ms),
 * long enough to be promoted to the old generation, where it dies. V8's own heuristic then lets the old
 * generation grow to about four times the live heap before a major collection: measured draining
 * 100,000 events, 80 MB held where 22 MB were live, and a peak RSS of 210 MB. Capping the growth at
 * HEAP_GROWTH_PERCENT of the live heap collects that garbage sooner (see docs/performance.md).
 *
 * A V8 flag, set from inside the process: V8 reads this one each time it computes its next limit, unlike
 * the heap's sizes, which are fixed when the process starts. A --heap-growing-percent given to node
 * itself (on its command line or in NODE_OPTIONS) wins.
 */
import v8 from 'node:v8';

export type HeapGrowth =
  /** Set to the percent given. */
  | { kind: 'capped'; percent: number }
  /** HEAP_GROWTH_PERCENT=0: V8's own heuristic. */
  | { kind: 'v8' }
  /** node was given --heap-growing-percent itself: left as it is. */
  | { kind: 'node-option'; option: string };

const V8_FLAG = /--heap[-_]growing[-_]percent(=\S*)?/;

/** Applies HEAP_GROWTH_PERCENT to this process's V8 (once, at start); says what was done. */
export function applyHeapGrowth(
  percent: number,
  nodeArgs: { execArgv: readonly string[]; nodeOptions: string | undefined } = {
    execArgv: process.execArgv,
    nodeOptions: process.env.NODE_OPTIONS,
  },
): HeapGrowth {
  const given = [...nodeArgs.execArgv, nodeArgs.nodeOptions ?? ''].map((arg) => V8_FLAG.exec(arg)?.[0]).find(Boolean);
  if (given) return { kind: 'node-option', option: given };
  if (percent === 0) return { kind: 'v8' };
  v8.setFlagsFromString(`--heap-growing-percent=${percent}`);
  return { kind: 'capped', percent };
}
