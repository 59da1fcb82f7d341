// One request in, one answer out: discovery, health, and the resource verbs.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Api } from '../core.ts'
import { apiGroup, apiGroupList, apiResourceList, apiVersions, VERSION_INFO } from '../discovery.ts'
import { ApiError, badRequest, internal, methodNotAllowed, notFound, pathNotFound, unsupportedMediaType } from '../errors.ts'
import { openapiV3GroupVersion, openapiV3Root } from '../openapi.ts'
import { includeObjectParam, table, wantsTable } from '../table.ts'
import { jsonPatch } from '../patch/json-patch.ts'
import { mergePatch } from '../patch/merge-patch.ts'
import { SCHEMAS } from '../patch/merge-keys.ts'
import { strategicMerge } from '../patch/strategic-merge.ts'
import { apiVersionOf, type Resource } from '../resources.ts'
import { isObject, type KObject } from '../types.ts'
import { objectBody, parseJson, readBody } from './body.ts'
import { listPage, selectEntries, streamList } from './list.ts'
import { boolParam, filterOf, rvParam } from './query.ts'
import { sendError, sendJson, sendRaw } from './respond.ts'
import { parseResourcePath, type ResourceRoute } from './route.ts'
import { serveWatch, WatchSlots } from './watch.ts'

export interface HandlerOptions {
  api: Api
  bookmarkMs: number
  /** a watcher whose unsent output passes this is dropped (default 16 MiB) */
  watchBufferBytes?: number
  /** concurrent watches beyond this get 429 (default 10,000) */
  maxWatches?: number
  /** the largest request body accepted; larger ones get 413 */
  maxBodyBytes?: number
  log: { error(o: object, msg: string): void; warn(o: object, msg: string): void; debug(o: object, msg: string): void }
}

const HEALTH = new Set(['/healthz', '/livez', '/readyz'])

export function isHealthPath(path: string): boolean {
  return HEALTH.has(path)
}

export function makeHandler(opts: HandlerOptions) {
  const { api } = opts
  const watchSlots = new WatchSlots(opts.maxWatches ?? 10_000)
  const watchBuffer = opts.watchBufferBytes ?? 16 * 1024 * 1024
  return async (req: IncomingMessage, res: ServerResponse, path: string, q: URLSearchParams): Promise<void> => {
    try {
      if (HEALTH.has(path)) {
        res.writeHead(200, { 'Content-Type': 'text/plain' })
        res.end('ok')
        return
      }
      if (req.method === 'GET') {
        const doc = discovery(path, req)
        if (doc) return sendJson(res, 200, doc)
      }
      const route = parseResourcePath(path)
      if (!route) throw pathNotFound(path)
      await resource(req, res, route, q)
    } catch (e) {
      if (e instanceof ApiError) return sendError(res, e)
      opts.log.error({ err: e, path, method: req.method }, 'request failed')
      sendError(res, internal((e as Error).message))
    }
  }

  function discovery(path: string, req: IncomingMessage): unknown {
    if (path === '/version') return VERSION_INFO
    if (path === '/api') return apiVersions(req.headers.host ?? '')
    if (path === '/apis') return apiGroupList()
    if (path === '/openapi/v3') return openapiV3Root()
    if (path.startsWith('/openapi/v3/')) return openapiV3GroupVersion(path.slice('/openapi/v3/'.length))
    const m = /^\/api\/(v1)$/.exec(path)
    if (m) return apiResourceList('', m[1]!)
    const g = /^\/apis\/([^/]+)(?:\/([^/]+))?$/.exec(path)
    if (g) return g[2] ? apiResourceList(g[1]!, g[2]) : apiGroup(g[1]!)
    return undefined
  }

  async function resource(req: IncomingMessage, res: ServerResponse, rt: ResourceRoute, q: URLSearchParams): Promise<void> {
    const r = rt.resource
    const ns = r.namespaced ? rt.namespace : undefined
    const dryRun = q.getAll('dryRun').includes('All')
    if (rt.subresource === 'binding') {
      if (req.method !== 'POST') throw methodNotAllowed(`${req.method} is not supported on pods/binding: only create`)
      const status = api.bind(ns, rt.name ?? '', await objectBody(req, opts.maxBodyBytes), { dryRun })
      await api.store.persist()
      return sendJson(res, 201, status)
    }
    switch (req.method) {
      case 'GET': {
        const asTable = wantsTable(req.headers.accept)
        const include = includeObjectParam(q)
        if (rt.name && !rt.watchPath && !boolParam(q, 'watch')) {
          // What a client reads is durable: an answer never shows a version a crash could take back.
          const e = api.store.durableGet(r.name, ns, rt.name)
          if (!e) throw notFound(api.target(r, rt.name))
          if (asTable) return sendJson(res, 200, table(r.kind, [e.obj], e.obj.metadata.resourceVersion ?? '', include))
          return sendRaw(res, 200, e.json)
        }
        const f = filterOf(r, q, ns)
        if (rt.name) f.fields.push({ field: 'metadata.name', op: 'eq', value: rt.name })
        if (rt.watchPath || boolParam(q, 'watch')) {
          const timeout = Number(q.get('timeoutSeconds') ?? '') || 1800
          return serveWatch(api.store, res, r, f, {
            rv: rvParam(q),
            bookmarks: boolParam(q, 'allowWatchBookmarks'),
            sendInitialEvents: boolParam(q, 'sendInitialEvents'),
            timeoutSeconds: timeout,
            bookmarkMs: opts.bookmarkMs,
            maxBuffered: watchBuffer,
            render: asTable ? (o) => JSON.stringify(table(r.kind, [o], o.metadata.resourceVersion ?? '', include)) : undefined,
            onDrop: (bytes) => opts.log.warn({ resource: r.name, bytes }, 'watch dropped: the client does not read its events'),
          }, watchSlots)
        }
        const { page, rv: at } = listPage(api.store, r, f, q)
        const rv = String(at)
        if (asTable) {
          const tb = table(r.kind, page.entries.map((e) => e.obj), rv, include)
          if (page.continue) tb.metadata = { resourceVersion: rv, continue: page.continue, remainingItemCount: page.remaining }
          return sendJson(res, 200, tb)
        }
        return streamList(res, r, page, at)
      }
      case 'POST': {
        if (rt.name) throw methodNotAllowed(`POST is not supported on a named ${r.kind}`)
        if (r.namespaced && !rt.namespace) throw methodNotAllowed(`create ${r.name} under /namespaces/<namespace>/${r.name}`)
        const obj = api.create(r, ns, await objectBody(req, opts.maxBodyBytes), { dryRun })
        await api.store.persist()
        return sendJson(res, 201, obj)
      }
      case 'PUT': {
        if (!rt.name) throw methodNotAllowed(`PUT needs a name`)
        const obj = api.update(r, ns, rt.name, await objectBody(req, opts.maxBodyBytes), { dryRun, subresource: rt.subresource ?? '' })
        await api.store.persist()
        return sendJson(res, 200, obj)
      }
      case 'PATCH': {
        if (!rt.name) throw methodNotAllowed(`PATCH needs a name`)
        const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim()
        const patch = parseJson(await readBody(req, opts.maxBodyBytes))
        const apply = patcher(r, type, patch)
        const obj = api.patch(r, ns, rt.name, apply, { dryRun, subresource: rt.subresource ?? '' })
        await api.store.persist()
        return sendJson(res, 200, obj)
      }
      case 'DELETE': {
        const text = await readBody(req, opts.maxBodyBytes)
        const body = text.trim() ? parseJson(text) : {}
        const o = isObject(body) ? body : {}
        const graceQ = q.get('gracePeriodSeconds')
        const given: unknown = graceQ !== null ? (graceQ.trim() === '' ? NaN : Number(graceQ)) : (o.gracePeriodSeconds ?? undefined)
        const grace = given === undefined ? undefined : Number.isInteger(given) ? (given as number) : undefined
        if (given !== undefined && grace === undefined) throw badRequest(`gracePeriodSeconds: Invalid value: ${JSON.stringify(graceQ ?? o.gracePeriodSeconds)}: must be an integer`, 'EGRACE')
        const del = { dryRun: dryRun || (Array.isArray(o.dryRun) && o.dryRun.includes('All')), gracePeriodSeconds: grace, preconditions: isObject(o.preconditions) ? (o.preconditions as { uid?: string; resourceVersion?: string }) : undefined }
        if (rt.name) {
          const gone = api.delete(r, ns, rt.name, del)
          await api.store.persist()
          return sendJson(res, 200, gone)
        }
        // deletecollection
        const items: KObject[] = []
        for (const e of selectEntries(api.store, r, filterOf(r, q, ns))) {
          const { name, namespace } = e.obj.metadata
          items.push(api.delete(r, namespace, name ?? '', { ...del, preconditions: undefined }))
        }
        await api.store.persist()
        return sendJson(res, 200, { kind: `${r.kind}List`, apiVersion: apiVersionOf(r), metadata: { resourceVersion: String(api.store.resourceVersion()) }, items })
      }
      default:
        throw methodNotAllowed(`method ${req.method} is not supported`)
    }
  }
}

function patcher(r: Resource, type: string, patch: unknown): (cur: unknown) => unknown {
  switch (type) {
    case 'application/merge-patch+json':
      if (!isObject(patch)) throw badRequest('a merge patch must be a JSON object', 'EPATCH')
      return (cur) => mergePatch(cur, patch)
    case 'application/strategic-merge-patch+json':
      if (!isObject(patch)) throw badRequest('a strategic merge patch must be a JSON object', 'EPATCH')
      return (cur) => strategicMerge(cur, patch, SCHEMAS[r.kind] ?? {})
    case 'application/json-patch+json':
      return (cur) => jsonPatch(cur, patch)
    default:
      throw unsupportedMediaType(type || '(none)')
  }
}
