import { describe, expect, it } from 'vitest';
import { parseFragment } from './session';

describe('parseFragment', () => {
  it('reads the session token a sign-in through the identity provider hands back', () => {
    expect(parseFragment('#token=sys_abc.def')).toEqual({ token: 'sys_abc.def', error: undefined });
  });
  it('reads why such a sign-in was refused', () => {
    expect(parseFragment('#sso_error=nonce')).toEqual({ token: undefined, error: 'nonce' });
  });
  it('finds nothing in an ordinary address', () => {
    expect(parseFragment('')).toEqual({ token: undefined, error: undefined });
    expect(parseFragment('#section')).toEqual({ token: undefined, error: undefined });
  });
});
