import { describe, expect, it } from 'vitest';
import { scalar, toYaml } from './yaml';

describe('toYaml', () => {
  it('writes mappings and sequences in block style, one key or item a line', () => {
    const text = toYaml({
      version: 1,
      providers: { openai: { kind: 'openai', api_key: '${OPENAI_API_KEY}' } },
      models: {
        chat: {
          deployments: [
            { provider: 'openai', model: 'gpt-4o-mini', weight: 2 },
            { provider: 'local', model: 'm' },
          ],
          tags: ['a', 'b'],
          fallbacks: {},
          empty: [],
        },
      },
    });
    expect(text).toBe(
      [
        'version: 1',
        'providers:',
        '  openai:',
        '    kind: openai',
        '    api_key: "${OPENAI_API_KEY}"',
        'models:',
        '  chat:',
        '    deployments:',
        '      - provider: openai',
        '        model: gpt-4o-mini',
        '        weight: 2',
        '      - provider: local',
        '        model: m',
        '    tags:',
        '      - a',
        '      - b',
        '    fallbacks: {}',
        '    empty: []',
        '',
      ].join('\n'),
    );
  });

  it('nests sequences in sequences', () => {
    expect(toYaml({ a: [[1, 2], [{ b: null }]] })).toBe('a:\n  - - 1\n    - 2\n  - - b: null\n');
  });

  it('quotes strings YAML would read as something else', () => {
    expect(scalar('gpt-4o-mini')).toBe('gpt-4o-mini');
    expect(scalar('models/x.gguf')).toBe('models/x.gguf');
    for (const s of ['true', 'No', 'null', '~', '1.5', '', 'a: b', 'x #y', ' lead', '-x', '*ref']) {
      expect(scalar(s)).toBe(JSON.stringify(s));
    }
    expect(toYaml({ 'gpt-4.1': { 'a b': true } })).toBe('gpt-4.1:\n  "a b": true\n');
  });
});
