/**
 * How a header cell is compared with a name it should match: case, spaces and `_` ignored. Shared by
 * the mapping of a spreadsheet, the user's own tables and the import of esiti, all above this stage.
 */
export function normalizeHeader(header: string): string {
  return header.toLowerCase().replace(/[\s_]+/g, '')
}
