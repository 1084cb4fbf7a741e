// Loaded with --import by the benchmark: prints the process's peak RSS (all threads) at exit.
import {writeSync} from 'node:fs'

process.on('exit', () => writeSync(2, `maxRSS=${process.resourceUsage().maxRSS}\n`))
