// The rows of the usage and cost table: departments as their tree (each with its subtree's
// total and its own apps' share), other groupings by cost, largest first; and the
// department choices of the filter, indented by depth.

import type { Department } from './api';
import type { ReportItem } from './usageApi';
import { departmentTree } from './tree';

export interface CostRow {
  item: ReportItem;
  /** The label to show: a department's own name (the tree shows its place), else the name or key. */
  label: string;
  depth: number;
  /** The row's cost as a share of the report's total (its subtree's, for departments). */
  share: number;
}

export function costRows(items: readonly ReportItem[], grouping: string, totalMicros: number): CostRow[] {
  const share = (i: ReportItem) => (totalMicros > 0 ? i.total.cost_micros / totalMicros : 0);
  if (grouping === 'department') {
    const byId = new Map(items.map((i) => [i.key, i]));
    const asDepartments: Department[] = items.map((i) => ({
      id: i.key,
      parent_id: i.parent_id,
      name: lastSegment(i.name ?? i.key),
      created_at: 0,
    }));
    return departmentTree(asDepartments).flatMap(({ department, depth }) => {
      const item = byId.get(department.id);
      return item ? [{ item, label: department.name, depth, share: share(item) }] : [];
    });
  }
  return [...items]
    .sort((a, b) => b.total.cost_micros - a.total.cost_micros || (a.name ?? a.key).localeCompare(b.name ?? b.key))
    .map((item) => ({ item, label: item.name ?? item.key, depth: 0, share: share(item) }));
}

/** `root / eng / ml` → `ml`. */
export function lastSegment(path: string): string {
  const parts = path.split(' / ');
  return parts[parts.length - 1];
}

/** The department filter's choices: the tree, each indented by its depth. */
export function departmentOptions(departments: readonly Department[]): { value: string; label: string }[] {
  return departmentTree(departments).map(({ department, depth }) => ({
    value: department.id,
    label: `${'\u00a0\u00a0'.repeat(depth)}${department.name}`,
  }));
}
