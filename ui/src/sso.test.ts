import { describe, expect, it } from 'vitest';
import type { Department } from './api';
import {
  callbackUrl,
  checkForm,
  departmentPath,
  explainRule,
  formOf,
  inputOf,
  lockoutWarning,
  orderRules,
  serverFieldError,
  words,
  type SsoRule,
  type SsoSettings,
} from './sso';

const d = (id: string, name: string, parent_id: string | null): Department => ({ id, name, parent_id, created_at: 0 });
const departments = [d('dep_p', 'platform', null), d('dep_ml', 'ml', 'dep_p'), d('dep_f', 'finance', null)];
const rule = (id: string, kind: SsoRule['kind'], group: string, role: string, department_id: string | null): SsoRule => ({
  id,
  kind,
  group,
  role,
  department_id,
  created_at: 0,
});

const saved: SsoSettings = {
  issuer: 'https://login.example.com/realms/acme',
  client_id: 'switchyard',
  redirect_uri: 'https://sy.example.com/api/v1/auth/oidc/callback',
  client_secret_hint: '…9f3a',
  scopes: ['openid', 'profile', 'groups'],
  groups_claim: 'groups',
  sso_required: true,
  break_glass: ['admin', 'root'],
  api_audience: 'https://sy.example.com/api',
  created_at: 1,
  updated_at: 2,
};

describe('callbackUrl', () => {
  it('is the server’s callback route at the console’s origin', () => {
    expect(callbackUrl('https://sy.example.com')).toBe('https://sy.example.com/api/v1/auth/oidc/callback');
    expect(callbackUrl('http://127.0.0.1:8080/')).toBe('http://127.0.0.1:8080/api/v1/auth/oidc/callback');
  });
});

describe('the settings form', () => {
  it('starts a first provider from the server’s defaults and this console’s callback', () => {
    const form = formOf(undefined, 'https://sy.example.com');
    expect(form).toMatchObject({ issuer: '', scopes: 'openid profile email', groups_claim: 'groups', sso_required: false });
    expect(form.redirect_uri).toBe('https://sy.example.com/api/v1/auth/oidc/callback');
  });

  it('starts from the saved settings, the secret never among them', () => {
    const form = formOf(saved, 'https://elsewhere.example.com');
    expect(form.redirect_uri).toBe(saved.redirect_uri);
    expect(form.client_secret).toBe('');
    expect(form.break_glass).toBe('admin, root');
    expect(inputOf(form)).toEqual({
      issuer: saved.issuer,
      client_id: 'switchyard',
      redirect_uri: saved.redirect_uri,
      scopes: ['openid', 'profile', 'groups'],
      groups_claim: 'groups',
      sso_required: true,
      break_glass: ['admin', 'root'],
      api_audience: 'https://sy.example.com/api',
    });
  });

  it('sends a secret only when one was typed, and an empty audience as none', () => {
    const form = { ...formOf(saved, ''), api_audience: '  ' };
    expect('client_secret' in inputOf(form)).toBe(false);
    expect(inputOf(form).api_audience).toBeNull();
    expect(inputOf({ ...form, client_secret: 's3cret' }).client_secret).toBe('s3cret');
  });

  it('splits scopes and users on spaces and commas', () => {
    expect(words(' openid,profile  groups ,')).toEqual(['openid', 'profile', 'groups']);
  });

  it('accepts complete settings', () => {
    expect(checkForm(formOf(saved, ''))).toEqual({});
  });

  it('names each field it refuses', () => {
    const form = {
      ...formOf(undefined, ''),
      redirect_uri: ' ',
      scopes: 'profile email',
      groups_claim: '',
      sso_required: true,
      client_id: 'switchyard',
      api_audience: 'switchyard',
    };
    expect(Object.keys(checkForm(form)).sort()).toEqual(
      ['api_audience', 'break_glass', 'groups_claim', 'issuer', 'redirect_uri', 'scopes'].sort(),
    );
    expect(checkForm(form).scopes).toBe('must include openid');
  });

  it('warns the person editing who would lose their password sign-in', () => {
    const form = { ...formOf(saved, ''), break_glass: 'root' };
    expect(lockoutWarning(form, 'admin')).toContain('You (admin) are not a break-glass user');
    expect(lockoutWarning({ ...form, break_glass: 'root, admin' }, 'admin')).toBeUndefined();
    expect(lockoutWarning({ ...form, sso_required: false }, 'admin')).toBeUndefined();
  });

  it('places the server’s refusal by the field it names', () => {
    const body = { code: 'invalid', message: 'must be https (http only on a loopback address)', field: 'issuer' };
    expect(serverFieldError(body)).toEqual({ issuer: body.message });
    expect(serverFieldError({ code: 'invalid', message: 'x', field: 'document.models' })).toBeUndefined();
    expect(serverFieldError({ code: 'internal', message: 'x' })).toBeUndefined();
    expect(serverFieldError(undefined)).toBeUndefined();
  });
});

describe('rules said in one line', () => {
  it('names a department by its path from the top', () => {
    expect(departmentPath('dep_ml', departments)).toBe('/platform/ml');
    expect(departmentPath('gone', departments)).toBeUndefined();
    // A cycle in the data does not hang.
    expect(departmentPath('a', [d('a', 'A', 'b'), d('b', 'B', 'a')])).toBe('/B/A');
  });

  it('explains a group rule, a client rule and the whole tenant', () => {
    expect(explainRule(rule('1', 'group', 'ai-platform-ops', 'model_ops', 'dep_p'), departments)).toBe(
      'People in group ai-platform-ops get model_ops on /platform and below, at their next sign-in.',
    );
    expect(explainRule(rule('2', 'client', 'billing-batch', 'resource_manager', 'dep_ml'), departments)).toBe(
      'The service with client id billing-batch gets resource_manager on /platform/ml and below, from its next call.',
    );
    expect(explainRule(rule('3', 'group', 'sec', 'security_engineer', null), departments)).toBe(
      'People in group sec get security_engineer on the whole tenant, at their next sign-in.',
    );
    expect(explainRule(rule('4', 'group', 'x', 'model_ops', 'dep_gone'), departments)).toContain('department dep_gone');
  });

  it('orders people’s rules before services’, each by value, role and scope', () => {
    const ordered = orderRules(
      [
        rule('a', 'client', 'batch', 'model_ops', null),
        rule('b', 'group', 'ops', 'model_ops', 'dep_p'),
        rule('c', 'group', 'finance', 'resource_manager', null),
        rule('d', 'group', 'ops', 'model_ops', 'dep_f'),
        rule('e', 'group', 'ops', 'app_developer', null),
      ],
      departments,
    );
    expect(ordered.map((r) => r.id)).toEqual(['c', 'e', 'd', 'b', 'a']);
  });
});
