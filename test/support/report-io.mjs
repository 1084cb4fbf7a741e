// Loaded with --import by tests of hostile input: at exit, prints the process's peak RSS (all
// threads, KB) and the bytes it wrote through write syscalls (files, pipes: an upper bound on disk).
import {readFileSync, writeSync} from 'node:fs'

process.on('exit', () => {
  const wchar = /wchar:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 'NaN'
  writeSync(2, `\nmaxRSS=${process.resourceUsage().maxRSS} wchar=${wchar}\n`)
})
