/**
 * Shape of the generated table files in src/tables/data/ (written by scripts/update-tables.ts,
 * read by src/tables/index.ts). Kept in one place so the writer and the reader cannot drift.
 *
 * Each file is JSON: `{ meta, rows }`, where every row is an array in the order of `meta.columns`
 * (arrays instead of objects keep the files small). Dates are `YYYY-MM-DD`; an empty string in
 * a `validTo` column means "still valid" (the sources write 9999-12-31).
 */

export interface SourcePackage {
  package: string;
  version: string;
  /** What this table takes from the package. */
  use: string;
  /** Licence of the data the package ships, as its own files state it. */
  dataLicence: string;
}

export interface TableMeta {
  name: string;
  description: string;
  generator: string;
  generated: string;
  sources: SourcePackage[];
  columns: string[];
  entries: number;
  /** Free-text notes: join rules, overrides, what could not be joined. */
  notes: string[];
}

export interface TableFile<Row extends unknown[]> {
  meta: TableMeta;
  rows: Row[];
}

/** istat, belfiore, name, province sigla, region (ISTAT 2-digit), validFrom, validTo */
export type ComuneRow = [string, string, string, string, string, string, string];

/** code, kind ('C' comune | 'S' stato), name, validFrom, validTo, province sigla (comuni) , ISO alpha-2 (stati), ISO numeric (stati) */
export type BelfioreRow = [string, 'C' | 'S', string, string, string, string, string, string];

/** ISO 3166-1 numeric, alpha-2, alpha-3, Italian name */
export type CountryRow = [string, string, string, string];

export const DATA_FILES = {
  comuni: 'comuni.json',
  belfiore: 'belfiore.json',
  countries: 'iso-countries.json',
} as const;
