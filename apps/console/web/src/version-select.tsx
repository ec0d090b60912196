import type { DatasetVersion } from './types';

/**
 * A choice of one of a dataset's versions, as `v<seq>`, after an empty one named `placeholder` (empty until one is
 * chosen; null: no empty choice).
 */
export function VersionSelect({
  id,
  label,
  versions,
  value,
  onChange,
  placeholder = 'choose…',
}: {
  id: string;
  label: string;
  versions: DatasetVersion[];
  value: string;
  onChange: (value: string) => void;
  placeholder?: string | null;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {placeholder !== null && <option value="">{placeholder}</option>}
        {versions.map((v) => (
          <option key={v.id} value={`v${v.seq}`}>
            v{v.seq}
          </option>
        ))}
      </select>
    </div>
  );
}
