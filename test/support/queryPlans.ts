/**
 * What PostgreSQL plans for a statement as the daemon runs it (prepared, with its parameters), custom
 * or generic: the tests that say a statement reads through an index, never a whole table, ask here.
 */
import type pg from 'pg';

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  Plans?: PlanNode[];
}

export type PlanMode = 'force_custom_plan' | 'force_generic_plan';
export const PLAN_MODES: readonly PlanMode[] = ['force_custom_plan', 'force_generic_plan'];

/** The plan of `text` prepared and executed with `values` (rendered as literals), in the given mode. */
export async function preparedPlan(
  client: pg.PoolClient,
  text: string,
  values: Array<string | number | null>,
  mode: PlanMode,
): Promise<PlanNode> {
  await client.query(`set plan_cache_mode = ${mode}`);
  try {
    await client.query(`prepare plan_check as ${text}`);
    try {
      const literal = values.map((v) => (v === null ? 'null' : `'${String(v)}'`)).join(', ');
      const { rows } = await client.query(`explain (format json) execute plan_check(${literal})`);
      return rows[0]['QUERY PLAN'][0].Plan as PlanNode;
    } finally {
      await client.query('deallocate plan_check');
    }
  } finally {
    await client.query('reset plan_cache_mode');
  }
}

/** The indexes a plan reads. */
export function indexes(node: PlanNode): string[] {
  return [...(node['Index Name'] ? [node['Index Name']] : []), ...(node.Plans ?? []).flatMap(indexes)];
}

/** The relations a plan reads with a sequential scan. */
export function seqScans(node: PlanNode): string[] {
  const own = node['Node Type'] === 'Seq Scan' ? [node['Relation Name'] ?? '?'] : [];
  return [...own, ...(node.Plans ?? []).flatMap(seqScans)];
}
