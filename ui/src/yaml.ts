// A config document (JSON) written as block YAML for the editor: one key or item per
// line, so the server's line numbers point at what a person reads. Strings that YAML could
// read as something else are written in JSON's double quotes, which YAML reads alike.

const RESERVED = /^(true|false|null|yes|no|on|off|y|n|~)$/i;
const PLAIN = /^[A-Za-z_/][A-Za-z0-9_./@+-]*$/;

/** A string as a YAML scalar: plain when unambiguous, else double-quoted. */
export function scalar(s: string): string {
  return PLAIN.test(s) && !RESERVED.test(s) ? s : JSON.stringify(s);
}

function inline(v: unknown): string | undefined {
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return scalar(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.length === 0) return '[]';
  if (typeof v === 'object' && Object.keys(v as object).length === 0) return '{}';
  return undefined;
}

function block(v: unknown, indent: string, out: string[]): void {
  if (Array.isArray(v)) {
    for (const item of v) {
      const one = inline(item);
      if (one !== undefined) {
        out.push(`${indent}- ${one}`);
        continue;
      }
      // The item's first line joins its dash; the rest line up under it.
      const inner: string[] = [];
      block(item, `${indent}  `, inner);
      out.push(`${indent}- ${inner[0].slice(indent.length + 2)}`, ...inner.slice(1));
    }
    return;
  }
  for (const [k, item] of Object.entries(v as Record<string, unknown>)) {
    const one = inline(item);
    if (one !== undefined) out.push(`${indent}${scalar(k)}: ${one}`);
    else {
      out.push(`${indent}${scalar(k)}:`);
      block(item, `${indent}  `, out);
    }
  }
}

/** `document` as block YAML text, ending with a newline. */
export function toYaml(document: unknown): string {
  const one = inline(document);
  if (one !== undefined) return `${one}\n`;
  const out: string[] = [];
  block(document, '', out);
  return out.join('\n') + '\n';
}
