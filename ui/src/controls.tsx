// The form controls and table head the pages share: every control labelled, every
// column header scoped, every form named and its failure shown by its button.

import type { ComponentChildren } from 'preact';
import { ActionError, type Action } from './load';

export function Head({ columns }: { columns: readonly string[] }) {
  return (
    <thead>
      <tr>
        {columns.map((c) =>
          c === '' ? (
            <th key="actions" scope="col"><span class="sr-only">Actions</span></th>
          ) : (
            <th key={c} scope="col">{c}</th>
          ),
        )}
      </tr>
    </thead>
  );
}

export function TextField({
  label,
  name,
  value,
  set,
  type = 'text',
  ...rest
}: {
  label: string;
  name: string;
  value: string;
  set: (v: string) => void;
  type?: 'text' | 'password';
  required?: boolean;
  placeholder?: string;
  autoComplete?: string;
}) {
  return (
    <label>
      {label}
      {/* Two literal types: preact's input props are a union discriminated by `type`. */}
      {type === 'password' ? (
        <input type="password" name={name} value={value} onInput={(e) => set(e.currentTarget.value)} {...rest} />
      ) : (
        <input type="text" name={name} value={value} onInput={(e) => set(e.currentTarget.value)} {...rest} />
      )}
    </label>
  );
}

export interface Choice {
  value: string;
  label: string;
}

export function SelectField({
  label,
  name,
  value,
  set,
  choices,
}: {
  label: string;
  name: string;
  value: string;
  set: (v: string) => void;
  choices: readonly Choice[];
}) {
  return (
    <label>
      {label}
      <select name={name} value={value} onChange={(e) => set(e.currentTarget.value)}>
        {choices.map((c) => (
          <option key={c.value} value={c.value}>{c.label}</option>
        ))}
      </select>
    </label>
  );
}

/** A form with a heading of its label, its submit button and the action's error. */
export function Form({
  label,
  submit,
  action,
  onSubmit,
  children,
}: {
  label: string;
  submit: string;
  action: Action;
  onSubmit: (e: Event) => void;
  children: ComponentChildren;
}) {
  return (
    <form onSubmit={onSubmit} aria-label={label}>
      <h2>{label}</h2>
      {children}
      <ActionError action={action} />
      <button type="submit" disabled={action.busy}>
        {submit}
      </button>
    </form>
  );
}

/** Departments as the choices of a select. */
export function departmentChoices(departments: readonly { id: string; name: string }[], suffix = ''): Choice[] {
  return departments.map((d) => ({ value: d.id, label: d.name + suffix }));
}
