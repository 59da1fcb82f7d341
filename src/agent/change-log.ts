// One log line per changed object; a summary line instead when a sync carries
// more than a person would read (the initial list of a big cluster).
import type { Logger } from 'pino'
import type { Change } from '../cluster/change-tracker.ts'
import type { ChangeSet } from '../cluster/snapshot.ts'

const MAX_LINES = 50

export function logChanges(log: Logger, changes: ChangeSet): void {
  const groups: Array<[string, Change<unknown>[]]> = [
    ['services', changes.services],
    ['endpointslices', changes.endpointSlices],
    ['nodes', changes.nodes],
  ]
  const total = groups.reduce((n, [, list]) => n + list.length, 0)
  if (total === 0) return
  if (total > MAX_LINES) {
    log.info(Object.fromEntries(groups.map(([r, list]) => [r, list.length])), `${total} changes`)
    return
  }
  for (const [resource, list] of groups) {
    for (const c of list) {
      const op = c.previous === undefined ? 'added' : c.current === undefined ? 'deleted' : 'updated'
      log.info({ resource, key: c.key, op }, `${resource} ${op}`)
    }
  }
}
