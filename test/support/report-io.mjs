// Loaded with --import by tests of hostile input: at exit, prints the process's peak RSS (all
// threads, KB), its CPU time (µs: unlike wall time, hardly changed by a busy machine) and the bytes it
// wrote through write syscalls (files, pipes: an upper bound on what reached the disk).
import {readFileSync, writeSync} from 'node:fs'

process.on('exit', () => {
  const wchar = /wchar:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))?.[1] ?? 'NaN'
  const usage = process.resourceUsage()
  writeSync(2, `\nmaxRSS=${usage.maxRSS} cpu=${usage.userCPUTime + usage.systemCPUTime} wchar=${wchar}\n`)
})
