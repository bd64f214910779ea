// The SSO settings page's logic (docs/identity.md): the form and the `PUT /api/v1/sso` body
// it becomes, the checks worth making before the server's, the callback URL this console's
// server answers on, and each rule said in one line.

import type { Department } from './api';

/** `GET /api/v1/sso`. */
export interface SsoSettings {
  issuer: string;
  client_id: string;
  redirect_uri: string;
  /** `…9f3a`; null for a public client (PKCE only). */
  client_secret_hint: string | null;
  scopes: string[];
  groups_claim: string;
  sso_required: boolean;
  break_glass: string[];
  api_audience: string | null;
  created_at: number;
  updated_at: number;
}

/** `PUT /api/v1/sso`; `client_secret` absent keeps the one set. */
export interface SsoInput {
  issuer: string;
  client_id: string;
  redirect_uri: string;
  client_secret?: string;
  scopes: string[];
  groups_claim: string;
  sso_required: boolean;
  break_glass: string[];
  api_audience: string | null;
}

export type RuleKind = 'group' | 'client';

/** `GET /api/v1/sso/rules`: `group` is the groups-claim value, or the service's client id. */
export interface SsoRule {
  id: string;
  kind: RuleKind;
  group: string;
  role: string;
  department_id: string | null;
  created_at: number;
}

/** The form's fields, as typed. */
export interface SsoForm {
  issuer: string;
  client_id: string;
  redirect_uri: string;
  /** Typed only to set a new one: empty keeps the secret already set. */
  client_secret: string;
  scopes: string;
  groups_claim: string;
  sso_required: boolean;
  break_glass: string;
  api_audience: string;
}

/** The path the server's callback route answers on (`server/src/api/oidc_login.rs`). */
export const CALLBACK_PATH = '/api/v1/auth/oidc/callback';

/** The callback to register at the provider: this server's origin (the one the console is
 * served from, as the browser reaches it) and the callback route. */
export function callbackUrl(origin: string): string {
  return origin.replace(/\/+$/, '') + CALLBACK_PATH;
}

/** The server's defaults (`server/src/store/sso.rs`). */
const DEFAULT_SCOPES = 'openid profile email';
const DEFAULT_GROUPS_CLAIM = 'groups';

/** The form for `settings`, or for a first provider when there are none. */
export function formOf(settings: SsoSettings | undefined, origin: string): SsoForm {
  return {
    issuer: settings?.issuer ?? '',
    client_id: settings?.client_id ?? '',
    redirect_uri: settings?.redirect_uri ?? callbackUrl(origin),
    client_secret: '',
    scopes: settings ? settings.scopes.join(' ') : DEFAULT_SCOPES,
    groups_claim: settings?.groups_claim ?? DEFAULT_GROUPS_CLAIM,
    sso_required: settings?.sso_required ?? false,
    break_glass: settings?.break_glass.join(', ') ?? '',
    api_audience: settings?.api_audience ?? '',
  };
}

/** Words separated by spaces or commas. */
export function words(text: string): string[] {
  return text.split(/[\s,]+/).filter((w) => w.length > 0);
}

/** The body the form saves as. */
export function inputOf(form: SsoForm): SsoInput {
  const input: SsoInput = {
    issuer: form.issuer.trim(),
    client_id: form.client_id.trim(),
    redirect_uri: form.redirect_uri.trim(),
    scopes: words(form.scopes),
    groups_claim: form.groups_claim.trim(),
    sso_required: form.sso_required,
    break_glass: words(form.break_glass),
    api_audience: form.api_audience.trim() || null,
  };
  if (form.client_secret !== '') input.client_secret = form.client_secret;
  return input;
}

export type FieldErrors = Partial<Record<keyof SsoForm, string>>;

/** What can be told before asking the server: missing values and the rules that need no
 * URL parsing. The server checks everything again (URLs, names) and its refusal is shown
 * by its field too. */
export function checkForm(form: SsoForm): FieldErrors {
  const input = inputOf(form);
  const errors: FieldErrors = {};
  if (!input.issuer) errors.issuer = 'the provider’s issuer URL is required';
  if (!input.client_id) errors.client_id = 'the client id registered at the provider is required';
  if (!input.redirect_uri) errors.redirect_uri = 'the callback URL is required';
  if (!input.scopes.includes('openid')) errors.scopes = 'must include openid';
  if (!input.groups_claim) errors.groups_claim = 'the claim holding the groups is required';
  if (input.sso_required && input.break_glass.length === 0) {
    errors.break_glass = 'name at least one break-glass user when SSO is required';
  }
  if (input.api_audience !== null && input.api_audience === input.client_id) {
    errors.api_audience = 'must differ from the client id (a person’s ID token would pass for a service’s token)';
  }
  return errors;
}

/** Said before saving SSO required when the person editing would lose their own password
 * sign-in (not a break-glass user); undefined when not. */
export function lockoutWarning(form: SsoForm, username: string): string | undefined {
  if (!form.sso_required || words(form.break_glass).includes(username)) return undefined;
  return `You (${username}) are not a break-glass user: once saved, your password is refused and you sign in through the provider.`;
}

const FIELDS: readonly (keyof SsoForm)[] = [
  'issuer',
  'client_id',
  'redirect_uri',
  'client_secret',
  'scopes',
  'groups_claim',
  'sso_required',
  'break_glass',
  'api_audience',
];

/** The server's refusal (`{code, message, field}`) placed by its field, when it names one of
 * the form's; undefined otherwise (then shown with the form's button). */
export function serverFieldError(body: unknown): FieldErrors | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const { field, message } = body as { field?: unknown; message?: unknown };
  if (typeof field !== 'string' || typeof message !== 'string') return undefined;
  const name = FIELDS.find((f) => f === field);
  return name ? { [name]: message } : undefined;
}

/** A department as a path of names from the top: `/Platform/ML`. */
export function departmentPath(id: string, departments: readonly Department[]): string | undefined {
  const byId = new Map(departments.map((d) => [d.id, d]));
  const names: string[] = [];
  const seen = new Set<string>();
  for (let d = byId.get(id); d && !seen.has(d.id); d = d.parent_id ? byId.get(d.parent_id) : undefined) {
    seen.add(d.id);
    names.unshift(d.name);
  }
  return names.length > 0 ? '/' + names.join('/') : undefined;
}

/** Where a rule's role applies, as people read it. */
export function scopeText(departmentId: string | null, departments: readonly Department[]): string {
  if (departmentId === null) return 'the whole tenant';
  const path = departmentPath(departmentId, departments);
  return path ? `${path} and below` : `department ${departmentId}`;
}

/** One line saying what a rule does: `People in group ai-platform-ops get model_ops on
 * /Platform and below, at their next sign-in.` */
export function explainRule(rule: Pick<SsoRule, 'kind' | 'group' | 'role' | 'department_id'>, departments: readonly Department[]): string {
  const scope = scopeText(rule.department_id, departments);
  if (rule.kind === 'client') {
    return `The service with client id ${rule.group} gets ${rule.role} on ${scope}, from its next call.`;
  }
  return `People in group ${rule.group} get ${rule.role} on ${scope}, at their next sign-in.`;
}

/** Rules in reading order: people's group rules, then services' client rules; each by
 * value, then role, then scope. */
export function orderRules(rules: readonly SsoRule[], departments: readonly Department[]): SsoRule[] {
  const kindRank = (k: RuleKind) => (k === 'group' ? 0 : 1);
  return [...rules].sort(
    (a, b) =>
      kindRank(a.kind) - kindRank(b.kind) ||
      a.group.localeCompare(b.group) ||
      a.role.localeCompare(b.role) ||
      scopeText(a.department_id, departments).localeCompare(scopeText(b.department_id, departments)),
  );
}
