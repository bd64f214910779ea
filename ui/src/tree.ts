// The department tree flattened for display: depth-first, children under their parent,
// siblings by name; a department whose parent is not in the list shows at the top.

import type { Department } from './api';

export interface TreeRow {
  department: Department;
  depth: number;
}

export function departmentTree(departments: readonly Department[]): TreeRow[] {
  const ids = new Set(departments.map((d) => d.id));
  const children = new Map<string | null, Department[]>();
  for (const d of departments) {
    const parent = d.parent_id !== null && ids.has(d.parent_id) ? d.parent_id : null;
    const list = children.get(parent) ?? [];
    list.push(d);
    children.set(parent, list);
  }
  const rows: TreeRow[] = [];
  const seen = new Set<string>();
  const walk = (parent: string | null, depth: number) => {
    const kids = [...(children.get(parent) ?? [])].sort((a, b) => a.name.localeCompare(b.name));
    for (const d of kids) {
      if (seen.has(d.id)) continue;
      seen.add(d.id);
      rows.push({ department: d, depth });
      walk(d.id, depth + 1);
    }
  };
  walk(null, 0);
  return rows;
}
