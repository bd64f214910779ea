// Display formats shared by the pages.

/** A millisecond timestamp as `YYYY-MM-DD HH:MM:SS` UTC; empty for none. */
export function formatTime(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  return new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** A role binding as people read it: `infra_admin (whole tenant)`, `app_developer in Sales`. */
export function describeBinding(
  role: string,
  departmentId: string | null,
  departmentName: (id: string) => string | undefined,
): string {
  if (departmentId === null) return `${role} (whole tenant)`;
  return `${role} in ${departmentName(departmentId) ?? departmentId}`;
}
