// The range control of the usage pages: a preset (last 24 h, 7 d, 30 d) or chosen days,
// every control labelled; a wrong pair of days is said in place, never sent.

import { useMemo, useState } from 'preact/hooks';
import { SelectField } from './controls';
import { DAY, PRESETS, dayText, rangeOf, type Preset, type Range } from './range';

export interface RangeState {
  preset: Preset;
  setPreset: (p: Preset) => void;
  fromDay: string;
  setFromDay: (d: string) => void;
  toDay: string;
  setToDay: (d: string) => void;
  /** The range, or what is wrong with the chosen days. */
  range: Range | string;
  /** Changes when the range does: a load's dependency. */
  key: string;
}

export function useRange(initial: Preset): RangeState {
  // Fixed when the page opens, so a reload of the data asks for the same buckets.
  const [now] = useState(() => Date.now());
  const [preset, setPreset] = useState<Preset>(initial);
  const [fromDay, setFromDay] = useState(dayText(now - 6 * DAY));
  const [toDay, setToDay] = useState(dayText(now));
  const range = useMemo(() => rangeOf(preset, now, fromDay, toDay), [preset, now, fromDay, toDay]);
  const key = typeof range === 'string' ? range : `${range.from}/${range.to}/${range.stepMs}`;
  return { preset, setPreset, fromDay, setFromDay, toDay, setToDay, range, key };
}

export function RangePicker({ state }: { state: RangeState }) {
  return (
    <fieldset class="range">
      <legend>Time range (UTC)</legend>
      <SelectField
        label="Range"
        name="range"
        value={state.preset}
        set={(v) => state.setPreset(v as Preset)}
        choices={PRESETS.map((p) => ({ value: p.value, label: p.label }))}
      />
      {state.preset === 'custom' && (
        <>
          <label>
            From
            <input type="date" name="from" value={state.fromDay} onInput={(e) => state.setFromDay(e.currentTarget.value)} />
          </label>
          <label>
            To
            <input type="date" name="to" value={state.toDay} onInput={(e) => state.setToDay(e.currentTarget.value)} />
          </label>
        </>
      )}
      {typeof state.range === 'string' && (
        <p class="error" role="alert">
          {state.range}
        </p>
      )}
    </fieldset>
  );
}
