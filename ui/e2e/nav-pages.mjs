// The console's pages as ui/src/nav.ts defines them, for the browser suites: nav.ts is
// compiled with Vite's own TypeScript transform and imported, so a page added there is
// covered by the suites that walk the pages without editing them.

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { transformWithOxc } from 'vite';

const source = resolve(import.meta.dirname, '../src/nav.ts');
const { code } = await transformWithOxc(readFileSync(source, 'utf8'), source);
const nav = await import(`data:text/javascript;base64,${Buffer.from(code).toString('base64')}`);

/** `[{id, title, permission}]` in navigation order. */
export const PAGES = nav.PAGES;
/** The pages `permissions` open, in navigation order. */
export const visiblePages = nav.visiblePages;
export const hrefOf = nav.hrefOf;
