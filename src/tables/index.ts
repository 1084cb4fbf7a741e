/**
 * Reference-table lookups: comuni (ISTAT ↔ Belfiore), Belfiore places with validity dates,
 * ISO 3166-1 numeric countries and the prestazioni nomenclatore.
 *
 * The generated files in ./data/ (see scripts/update-tables.ts) are read synchronously, each once,
 * on first use: the CLI often needs none of them, and a sync read keeps every lookup synchronous.
 * Compiled code runs from dist/src/tables/, so the build must copy ./data there
 * (scripts/copy-assets.mjs).
 */
import { readFileSync } from 'node:fs';
import {
  DATA_FILES,
  type BelfioreRow,
  type ComuneRow,
  type CountryRow,
  type TableFile,
  type TableMeta,
} from './format.js';
import { BUILTIN_PRESTAZIONI, PRESTAZIONI_TABLE_DATE, type Prestazione } from './prestazioni.js';

export type { Prestazione } from './prestazioni.js';
export { REGIONS, regionName } from './regions.js';

export interface Comune {
  istat: string;
  belfiore: string;
  name: string;
  /** ISTAT 2-digit region code, '01'..'20'. */
  region: string;
  /** Province sigla, e.g. 'RM'. */
  province: string;
  validFrom?: string;
  /** Last valid day; undefined while the comune exists. */
  validTo?: string;
}

export interface BelfiorePlace {
  code: string;
  kind: 'comune' | 'stato';
  name: string;
  validFrom?: string;
  /** Last valid day; undefined while the code is in use. */
  validTo?: string;
  /** Province sigla (comuni only), as the Belfiore source has it (may be a historical province). */
  province?: string;
  /** ISO 3166-1 numeric (states only, when the state has one). */
  isoNumeric?: string;
}

export interface Country {
  isoNumeric: string;
  alpha2: string;
  alpha3: string;
  /** Italian name. */
  name: string;
}

export interface TableInfo {
  name: string;
  source: string;
  version: string;
  generated: string;
  entries: number;
  /** entries per origin, for the tables whose entries come from several places (prestazioni) */
  bySource?: Record<string, number>;
}

// ---------------------------------------------------------------------------------------------
// Loading.

function readTable<Row extends unknown[]>(file: string): TableFile<Row> {
  const url = new URL(`./data/${file}`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as TableFile<Row>;
}

/** Runs `load` on first call only; later calls return the same value. */
function once<T>(load: () => T): () => T {
  let value: T | undefined;
  let loaded = false;
  return () => {
    if (!loaded) {
      value = load();
      loaded = true;
    }
    return value as T;
  };
}

function groupBy<T>(items: T[], key: (item: T) => string): Map<string, T[]> {
  const map = new Map<string, T[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k);
    if (list) list.push(item);
    else map.set(k, [item]);
  }
  return map;
}

const optional = (s: string): string | undefined => (s === '' ? undefined : s);

const comuniTable = once(() => readTable<ComuneRow>(DATA_FILES.comuni));
const belfioreTable = once(() => readTable<BelfioreRow>(DATA_FILES.belfiore));
const countriesTable = once(() => readTable<CountryRow>(DATA_FILES.countries));

const comuniByIstat = once(() =>
  groupBy(
    comuniTable().rows.map(
      ([istat, belfiore, name, province, region, validFrom, validTo]): Comune => ({
        istat,
        belfiore,
        name,
        province,
        region,
        validFrom: optional(validFrom),
        validTo: optional(validTo),
      }),
    ),
    (c) => c.istat,
  ),
);

const comuniByBelfiore = once(() => groupBy([...comuniByIstat().values()].flat(), (c) => c.belfiore));

const placesByCode = once(() =>
  groupBy(
    belfioreTable().rows.map(
      ([code, kind, name, validFrom, validTo, province, , isoNumeric]): BelfiorePlace => ({
        code,
        kind: kind === 'C' ? 'comune' : 'stato',
        name,
        validFrom: optional(validFrom),
        validTo: optional(validTo),
        province: optional(province),
        isoNumeric: optional(isoNumeric),
      }),
    ),
    (p) => p.code,
  ),
);

const countriesByNumeric = once(
  () =>
    new Map(
      countriesTable().rows.map(([isoNumeric, alpha2, alpha3, name]): [string, Country] => [
        isoNumeric,
        { isoNumeric, alpha2, alpha3, name },
      ]),
    ),
);

/**
 * Loads and indexes every table now rather than at the first row that needs one: a worker thread
 * does it while it waits for its first chunk, instead of after (about 45 ms of JSON each).
 */
export function preloadTables(): void {
  comuniByBelfiore();
  placesByCode();
  countriesByNumeric();
}

// ---------------------------------------------------------------------------------------------
// Dates.

const DAY = /^\d{4}-\d{2}-\d{2}$/;

function assertDay(at: string): void {
  if (!DAY.test(at)) throw new TypeError(`expected a YYYY-MM-DD date, got '${at}'`);
}

/** Validity intervals are inclusive on both ends; a missing end is open. */
function validAt(v: { validFrom?: string; validTo?: string }, at: string): boolean {
  return (v.validFrom === undefined || v.validFrom <= at) && (v.validTo === undefined || at <= v.validTo);
}

function overlapsYear(v: { validFrom?: string; validTo?: string }, year: number): boolean {
  const first = `${String(year).padStart(4, '0')}-01-01`;
  const last = `${String(year).padStart(4, '0')}-12-31`;
  return (v.validFrom === undefined || v.validFrom <= last) && (v.validTo === undefined || first <= v.validTo);
}

// ---------------------------------------------------------------------------------------------
// Comuni.

/** Picks the entry valid at `at`, or the still-valid one when `at` is omitted. */
function pickValid(list: Comune[] | undefined, at?: string): Comune | undefined {
  if (!list) return undefined;
  if (at === undefined) return list.find((c) => c.validTo === undefined);
  assertDay(at);
  return list.find((c) => validAt(c, at));
}

/**
 * The comune with this 6-digit ISTAT code: the one that exists today when `at` is omitted, else the
 * one valid on `at` (YYYY-MM-DD). Ceased comuni are known only if they still existed in 2020.
 */
export function comuneByIstat(istat: string, at?: string): Comune | undefined {
  return pickValid(comuniByIstat().get(istat), at);
}

/** Same as comuneByIstat, keyed by the Belfiore code (e.g. the Ente/@Indirizzo field). */
export function comuneByBelfiore(belfiore: string, at?: string): Comune | undefined {
  return pickValid(comuniByBelfiore().get(belfiore.toUpperCase()), at);
}

/** All comuni valid on `at`, or existing today when `at` is omitted, in ISTAT-code order. */
export function listComuni(at?: string): Comune[] {
  if (at !== undefined) assertDay(at);
  return [...comuniByIstat().values()]
    .flat()
    .filter((c) => (at === undefined ? c.validTo === undefined : validAt(c, at)))
    .map((c) => ({ ...c }));
}

/** ISTAT 2-digit region code of the comune, derived from the comune entry. */
export function regionOfComune(istat: string, at?: string): string | undefined {
  return comuneByIstat(istat, at)?.region;
}

// ---------------------------------------------------------------------------------------------
// Belfiore codes.

/** Every place that used this Belfiore code (several entries only if the code was reused). */
export function belfioreInfo(code: string): BelfiorePlace[] {
  return (placesByCode().get(code.toUpperCase()) ?? []).map((p) => ({ ...p }));
}

/**
 * Whether the code was in use at some time during `year` (undefined = unknown code).
 * Beware: for states the start is a placeholder (1861), and for about 170 comuni the source's start
 * date is later than the real one, so prefer belfioreYearCheck when choosing error vs warning.
 */
export function isBelfioreValidInYear(code: string, year: number): boolean | undefined {
  const places = placesByCode().get(code.toUpperCase());
  if (!places) return undefined;
  return places.some((p) => overlapsYear(p, year));
}

export type BelfioreYearCheck = 'valid' | 'ceased' | 'not-yet' | 'unknown';

/**
 * Like isBelfioreValidInYear, but says why a code is not valid: 'ceased' (it ended before the
 * year: reliable) or 'not-yet' (it started after the year: weaker, see isBelfioreValidInYear).
 */
export function belfioreYearCheck(code: string, year: number): BelfioreYearCheck {
  const places = placesByCode().get(code.toUpperCase());
  if (!places) return 'unknown';
  if (places.some((p) => overlapsYear(p, year))) return 'valid';
  // No entry overlaps the year, so each one either ended before it or started after it.
  const first = `${String(year).padStart(4, '0')}-01-01`;
  return places.every((p) => p.validTo !== undefined && p.validTo < first) ? 'ceased' : 'not-yet';
}

// ---------------------------------------------------------------------------------------------
// Countries.

/**
 * True for a 3-digit ISO 3166-1 numeric country code ('380', '008'). Special SIUSS values such as
 * 990 ("non disponibile") are not ISO codes: callers handle them.
 */
export function isIsoNumericCountry(code: string): boolean {
  return /^\d{3}$/.test(code) && countriesByNumeric().has(code);
}

/** Italian name of an ISO 3166-1 numeric country. */
export function countryName(isoNumeric: string): string | undefined {
  return countriesByNumeric().get(isoNumeric)?.name;
}

export function countryByIsoNumeric(isoNumeric: string): Country | undefined {
  const c = countriesByNumeric().get(isoNumeric);
  return c && { ...c };
}

/** ISO numeric of a foreign state's Belfiore Z-code (undefined for former states and Kosovo). */
export function isoNumericOfBelfiore(code: string): string | undefined {
  return placesByCode()
    .get(code.toUpperCase())
    ?.find((p) => p.kind === 'stato' && p.isoNumeric)?.isoNumeric;
}

/** Belfiore Z-codes of the states with this ISO numeric code (normally one). */
export function belfioreOfIsoNumeric(isoNumeric: string): string[] {
  return [...placesByCode().values()]
    .flat()
    .filter((p) => p.kind === 'stato' && p.isoNumeric === isoNumeric)
    .map((p) => p.code);
}

// ---------------------------------------------------------------------------------------------
// Comuni: the generated table, optionally completed by the user's copy of ISTAT's or ANPR's
// published list (tables update --comuni), e.g. for comuni created after this release.

let userComuni = 0;

/**
 * Adds the user's comuni: a pair (ISTAT, Belfiore) the table lacks is added, with its Belfiore
 * code as a birthplace; a pair it has takes the user's validity dates when the file gives them
 * (ANPR's archive has them, ISTAT's current list does not). Returns how many were added.
 */
export function mergeComuni(rows: ComuneRow[]): number {
  const byIstat = comuniByIstat();
  const byBelfiore = comuniByBelfiore();
  const places = placesByCode();
  let added = 0;
  for (const [istat, belfiore, name, province, region, validFrom, validTo] of rows) {
    const comune: Comune = { istat, belfiore, name, province, region, validFrom: optional(validFrom), validTo: optional(validTo) };
    const same = byIstat.get(istat)?.find((c) => c.belfiore === belfiore && (c.validTo === undefined || comune.validTo === undefined || c.validTo === comune.validTo));
    if (same) {
      if (validFrom || validTo) Object.assign(same, { validFrom: comune.validFrom ?? same.validFrom, validTo: comune.validTo });
      continue;
    }
    byIstat.set(istat, [...(byIstat.get(istat) ?? []), comune]);
    byBelfiore.set(belfiore, [...(byBelfiore.get(belfiore) ?? []), comune]);
    if (!places.has(belfiore)) places.set(belfiore, [{ code: belfiore, kind: 'comune', name, validFrom: comune.validFrom, validTo: comune.validTo, province }]);
    added++;
  }
  userComuni += added;
  return added;
}

// ---------------------------------------------------------------------------------------------
// Prestazioni: built-in table, optionally overlaid by user entries.

export interface PrestazioneEntry extends Prestazione {
  origin: 'builtin' | 'user';
}

let prestazioni: Map<string, PrestazioneEntry> | undefined;
let prestazioniVersion = 0;

function prestazioniMap(): Map<string, PrestazioneEntry> {
  prestazioni ??= new Map(BUILTIN_PRESTAZIONI.map((p) => [p.code, { ...p, origin: 'builtin' as const }]));
  return prestazioni;
}

/** Shape of a prestazione code: 'A1.04', 'Z9.99', third level 'A1.05.01' (the XSD allows 5–10 chars). */
export function isPrestazioneCodeFormat(code: string): boolean {
  return /^[A-Z]\d\.\d{2}(\.\d{2})?$/.test(code);
}

export function prestazioneByCode(code: string): PrestazioneEntry | undefined {
  const p = prestazioniMap().get(code.trim().toUpperCase());
  return p && { ...p };
}

export function allPrestazioni(): PrestazioneEntry[] {
  return [...prestazioniMap().values()].sort((a, b) => a.code.localeCompare(b.code)).map((p) => ({ ...p }));
}

/**
 * Adds user entries (e.g. from an ente's nomenclatore file). A user entry replaces a built-in one
 * with the same code; an empty user denominazione keeps the built-in one. Returns the codes that
 * replaced built-in entries, so the caller can report them.
 */
export function mergePrestazioni(entries: Prestazione[]): string[] {
  prestazioniVersion++;
  const map = prestazioniMap();
  const replaced: string[] = [];
  for (const e of entries) {
    const code = e.code.trim().toUpperCase();
    if (!isPrestazioneCodeFormat(code)) throw new RangeError(`not a prestazione code: '${e.code}'`);
    const existing = map.get(code);
    if (existing?.origin === 'builtin') replaced.push(code);
    map.set(code, {
      ...e,
      code,
      denominazione: e.denominazione || existing?.denominazione || '',
      origin: 'user',
    });
  }
  return replaced;
}

/** Drops user entries (tests, or reloading a changed user file). */
export function resetPrestazioni(): void {
  prestazioni = undefined;
  prestazioniVersion++;
}

/** Changes whenever the nomenclatore does (merge or reset): memos of lookups compare it. */
export function nomenclatoreVersion(): number {
  return prestazioniVersion;
}

// ---------------------------------------------------------------------------------------------
// Status.

function infoOf(meta: TableMeta): TableInfo {
  return {
    name: meta.name,
    source: meta.sources.map((s) => s.package).join(', '),
    version: meta.sources.map((s) => `${s.package}@${s.version}`).join(', '),
    generated: meta.generated,
    entries: meta.entries,
  };
}

/** One line per table, for a `tables status` command. */
export function tablesInfo(): TableInfo[] {
  const entries = [...prestazioniMap().values()];
  const user = entries.filter((p) => p.origin === 'user').length;
  // where each code of the nomenclatore comes from: a cited public source, an inference from one,
  // or the ente's own file (tables update --from, e.g. the INPS portal's export)
  const bySource: Record<string, number> = { attested: 0, inferred: 0, user: 0 };
  for (const p of entries) bySource[p.origin === 'user' ? 'user' : p.inferred ? 'inferred' : 'attested']++;
  const comuni = infoOf(comuniTable().meta);
  if (userComuni > 0) {
    comuni.entries += userComuni;
    comuni.bySource = { builtin: comuniTable().meta.entries, user: userComuni };
  }
  return [
    comuni,
    infoOf(belfioreTable().meta),
    infoOf(countriesTable().meta),
    {
      name: 'prestazioni',
      source: user ? 'casellario built-in table + user entries' : 'casellario built-in table',
      version: `src/tables/prestazioni.ts ${PRESTAZIONI_TABLE_DATE}`,
      generated: PRESTAZIONI_TABLE_DATE,
      entries: prestazioniMap().size,
      bySource,
    },
  ];
}
