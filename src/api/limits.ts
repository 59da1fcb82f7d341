// The API's bounds on what one client can send or hold, in one import-free
// module so the CLI can show the defaults without loading the server.

/** kube-apiserver's default request size limit */
export const DEFAULT_BODY_LIMIT = 3 * 1024 * 1024

export interface ListenLimits {
  /** all request headers must arrive within this (ms) */
  headersTimeoutMs: number
  /** the whole request, headers and body, must arrive within this (ms); a watch's response is not bounded by it */
  requestTimeoutMs: number
  /** at most this many open connections per listener; more are closed at once */
  maxConnections: number
}

/** 10 s for the headers, 60 s for a whole request (kube-apiserver's request timeout), 1024 connections. */
export const DEFAULT_LIMITS: ListenLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 60_000, maxConnections: 1024 }

/**
 * The most replicas one Deployment or ReplicaSet may ask for. Each replica is a
 * Pod this process creates and keeps in memory; far beyond what a lab node
 * runs, and low enough that a typo such as 1e9 is refused at once (422)
 * instead of filling the store.
 */
export const MAX_REPLICAS = 1000

/** At most this many Pods are created or deleted by one ReplicaSet sync; the rest follow in later syncs (kube's burstReplicas). */
export const REPLICA_BURST = 500
