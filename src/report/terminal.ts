/**
 * How a report looks at a terminal: colours (only on a TTY, never with NO_COLOR) and columns.
 * Here, below cli/, because the reports are rendered by report/ and only printed by the commands.
 */

const COLOURS = {green: 32, red: 31, yellow: 33, dim: 2, bold: 1} as const
export type Colour = keyof typeof COLOURS

export function colourer(stream: NodeJS.WriteStream = process.stdout): (text: string, colour: Colour) => string {
  const on = Boolean(stream.isTTY) && !('NO_COLOR' in process.env && process.env.NO_COLOR !== '')
  return (text, colour) => (on ? `\u001B[${COLOURS[colour]}m${text}\u001B[0m` : text)
}

/** Left-aligned columns for a human table. */
export function table(header: string[], rows: string[][], visibleLength: (s: string) => number = (s) => s.replace(/\u001B\[\d+m/g, '').length): string {
  const widths = header.map((h, i) => Math.max(visibleLength(h), ...rows.map((r) => visibleLength(r[i] ?? ''))))
  const line = (cells: string[]): string => cells.map((c, i) => c + ' '.repeat(widths[i] - visibleLength(c))).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}
