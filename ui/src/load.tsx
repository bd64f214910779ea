// Loading a resource for a page: the data, or an error shown in place (a 403 as the
// "not allowed" message, never a broken screen), with a reload after a change.

import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { ApiError } from './api';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  reload: () => void;
}

export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    load().then(
      (d) => live && (setData(d), setError(undefined)),
      (e: unknown) => live && setError(e instanceof Error ? e : new Error(String(e))),
    );
    return () => {
      live = false;
    };
    // `load` is a fresh closure each render: `deps` say when it means something else.
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { data, error, reload };
}

export function Forbidden({ what }: { what: string }) {
  return (
    <div class="notice" role="alert">
      <h2>Not allowed</h2>
      <p>Your roles do not include {what}. Ask an infra admin for a role binding that grants it.</p>
    </div>
  );
}

export function ErrorNote({ error }: { error: Error }) {
  return (
    <p class="error" role="alert">
      {error.message}
    </p>
  );
}

/** Renders `children(data)` once loaded; the error or a loading line before. */
export function Show<T>({
  loaded,
  what,
  children,
}: {
  loaded: Loaded<T>;
  what: string;
  children: (data: T) => ComponentChildren;
}) {
  if (loaded.error instanceof ApiError && loaded.error.forbidden) return <Forbidden what={what} />;
  if (loaded.error) return <ErrorNote error={loaded.error} />;
  if (loaded.data === undefined) return <p aria-busy="true">Loading…</p>;
  return <>{children(loaded.data)}</>;
}

export interface Action {
  busy: boolean;
  error: string | undefined;
  /** Runs `act`, keeping its failure message for display; resolves true on success. */
  run: (act: () => Promise<unknown>) => Promise<boolean>;
}

/** A user action (a form's submit, a button): busy while it runs, its error kept. */
export function useAction(): Action {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = async (act: () => Promise<unknown>) => {
    setBusy(true);
    setError(undefined);
    try {
      await act();
      return true;
    } catch (e) {
      setError(e instanceof Error ? e.message : String(e));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run };
}

export function ActionError({ action }: { action: Action }) {
  return action.error ? (
    <p class="error" role="alert">
      {action.error}
    </p>
  ) : null;
}
