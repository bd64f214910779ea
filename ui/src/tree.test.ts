import { describe, expect, it } from 'vitest';
import type { Department } from './api';
import { departmentTree } from './tree';

const d = (id: string, name: string, parent_id: string | null): Department => ({ id, name, parent_id, created_at: 0 });

describe('departmentTree', () => {
  it('puts children under their parent, siblings by name', () => {
    const rows = departmentTree([d('3', 'Zeta', '1'), d('1', 'Root', null), d('2', 'Alpha', '1'), d('4', 'Deep', '2')]);
    expect(rows.map((r) => [r.department.name, r.depth])).toEqual([
      ['Root', 0],
      ['Alpha', 1],
      ['Deep', 2],
      ['Zeta', 1],
    ]);
  });
  it('shows a department whose parent is out of view at the top', () => {
    const rows = departmentTree([d('5', 'Sales EU', 'hidden')]);
    expect(rows).toEqual([{ department: d('5', 'Sales EU', 'hidden'), depth: 0 }]);
  });
});
