import {setFlagsFromString} from 'node:v8'

let held = false

/**
 * Keeps this process's young generation at the size it has when a pass over a file starts. V8
 * doubles it whenever the bytes that survived its collections since the last doubling add up to
 * its size — on a pass over a spreadsheet, a matter of how many rows have been read — so the
 * memory of `validate`, `build` and `submit` would grow with the file (DESIGN §11: flat). The
 * flag is read each time V8 would grow the space; setting it late only stops further growth.
 */
export function holdYoungGeneration(): void {
  if (held) return
  held = true
  setFlagsFromString('--semi-space-growth-factor=1')
}
