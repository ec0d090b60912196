import type { DatasetVersion } from './types';

/** A choice of one of a dataset's versions, as `v<seq>`; with `placeholder`, an empty first choice named so. */
export function VersionSelect({
  id,
  label,
  versions,
  value,
  onChange,
  placeholder,
}: {
  id: string;
  label: string;
  versions: DatasetVersion[];
  value: string;
  onChange: (value: string) => void;
  placeholder?: string;
}) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <select id={id} value={value} onChange={(e) => onChange(e.target.value)}>
        {placeholder !== undefined && <option value="">{placeholder}</option>}
        {versions.map((v) => (
          <option key={v.id} value={`v${v.seq}`}>
            v{v.seq}
          </option>
        ))}
      </select>
    </div>
  );
}
