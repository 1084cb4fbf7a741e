/**
 * Cleanup on Ctrl-C or a kill: a build writes private spools and partial flussi full of personal
 * data, and `finally` blocks do not run when a signal ends the process. Work registers what to
 * remove; the handler runs it and exits with the conventional code (130 SIGINT, 143 SIGTERM).
 */
const tasks = new Set<() => void>()
let installed = false
/** a long-running service's orderly stop (serve): finish what is in flight, then exit 0 */
let gracefulStop: (() => Promise<void>) | undefined

export function onGracefulStop(stop: () => Promise<void>): void {
  gracefulStop = stop
}

export function onInterrupt(task: () => void): () => void {
  tasks.add(task)
  return () => void tasks.delete(task)
}

export function installInterruptHandlers(): void {
  if (installed) return
  installed = true
  let stopping = false
  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    process.on(signal, () => {
      // a service stopping in order ignores the signals that follow (systemd and a cluster primary
      // may both send SIGTERM): a second one must not cut the requests in flight
      if (stopping) return
      if (gracefulStop && signal !== 'SIGHUP') {
        stopping = true
        void gracefulStop().then(
          () => process.exit(0),
          () => process.exit(code),
        )
        return
      }
      for (const task of tasks) {
        try {
          task()
        } catch {
          // keep cleaning: one failure must not leave the other files behind
        }
      }
      process.exit(code)
    })
  }
}
