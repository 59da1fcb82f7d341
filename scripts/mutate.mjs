#!/usr/bin/env node
// Mutation tests of the pure modules: `npm run mutate` runs every group,
// `npm run mutate -- ipam cni` only those. Each group pairs modules with the unit
// tests meant to pin them down, so a mutant is judged only by the tests that
// claim that module; one Stryker run per group keeps a run's cost at
// (its mutants) x (its tests) instead of the whole tree's. Too slow for .ci/run.
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import yargs from 'yargs'
import { hideBin } from 'yargs/helpers'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')

/**
 * The one table of groups: modules (globs Stryker understands) -> the unit tests that must kill their mutants.
 * `strip: true` where the modules and tests need nothing beyond Node's own type stripping (no parameter
 * properties, no enums): every mutant starts one Node per test file, and skipping tsx's loader saves a
 * quarter of that start.
 */
const GROUPS = {
  ipam: {
    mutate: ['src/ipam/allocator.ts', 'src/ipam/range.ts'],
    tests: ['test/unit/ipam-range.test.ts', 'test/unit/ipam-allocator.test.ts'],
    strip: true,
  },
  cni: {
    mutate: ['src/cni/env.ts', 'src/cni/netconf.ts', 'src/cni/version.ts', 'src/cni/result-version.ts'],
    tests: ['test/unit/cni-env.test.ts', 'test/unit/cni-netconf.test.ts', 'test/unit/cni-result-version.test.ts'],
    strip: true,
  },
  selectors: {
    mutate: ['src/api/selectors/*.ts'],
    tests: ['test/unit/api-selectors.test.ts'],
    strip: true,
  },
  patch: {
    mutate: ['src/api/patch/*.ts'],
    tests: ['test/unit/api-patch.test.ts', 'test/unit/api-patch-hostile.test.ts'],
  },
  address: {
    mutate: ['src/net/address.ts'],
    tests: ['test/unit/net-address.test.ts'],
  },
  history: {
    mutate: ['src/api/store/history.ts'],
    tests: ['test/unit/api-history.test.ts'],
  },
  'bounded-runner': {
    mutate: ['src/agent/bounded-runner.ts'],
    tests: ['test/unit/agent-bounded-runner.test.ts'],
  },
  // Not strip: the planner imports the address module, whose error class has parameter properties.
  'proxy-plan': {
    mutate: [
      'src/proxy/plan/categorize.ts', 'src/proxy/plan/intents.ts', 'src/proxy/plan/planner.ts', 'src/proxy/plan/route.ts',
      'src/proxy/plan/intent-map.ts', 'src/proxy/plan/config.ts',
    ],
    tests: [
      'test/unit/proxy-plan-categorize.test.ts', 'test/unit/proxy-plan-intents.test.ts', 'test/unit/proxy-plan-planner.test.ts',
      'test/unit/proxy-plan-route.test.ts', 'test/unit/proxy-plan-intent-map.test.ts', 'test/unit/proxy-plan-config.test.ts',
    ],
  },
  'proxy-ipt': {
    mutate: ['src/proxy/iptables/render.ts', 'src/proxy/iptables/sets.ts', 'src/proxy/iptables/names.ts', 'src/proxy/iptables/observe.ts'],
    tests: ['test/unit/proxy-ipt-render.test.ts', 'test/unit/proxy-ipt-observe.test.ts', 'test/unit/proxy-ipt-trace.test.ts'],
  },
  // nf_tables elements in binary: the layouts and encodings, and the nfnetlink messages (byte-exact)
  'nft-elements': {
    mutate: ['src/proxy/nftables/element-codec.ts', 'src/netlink/codec-nft.ts'],
    tests: ['test/unit/proxy-nft-element-codec.test.ts', 'test/unit/netlink-codec-nft.test.ts'],
  },
  'proxy-nft': {
    mutate: ['src/proxy/nftables/render.ts', 'src/proxy/nftables/ledger.ts', 'src/proxy/nftables/sticky.ts'],
    tests: ['test/unit/proxy-nft-render.test.ts', 'test/unit/proxy-nft-ledger.test.ts'],
  },
  'proxy-wiring': {
    mutate: ['src/proxy/nodeport-addresses.ts', 'src/proxy/flags.ts', 'src/proxy/consumer.ts', 'src/proxy/plan/delta.ts'],
    tests: ['test/unit/proxy-flags.test.ts', 'test/unit/proxy-consumer.test.ts', 'test/unit/proxy-plan-delta.test.ts'],
  },
  // the agent's sync loop: when a consumer runs, its drift watch, the bounded runner and the change cursor
  'agent-loop': {
    mutate: ['src/agent/consumer-loop.ts', 'src/agent/bounded-runner.ts', 'src/agent/change-cursor.ts'],
    tests: ['test/unit/agent-consumer-loop.test.ts', 'test/unit/agent-drift-watch.test.ts', 'test/unit/agent-bounded-runner.test.ts', 'test/unit/agent-change-cursor.test.ts'],
  },
  'proxy-trace': {
    mutate: ['src/proxy/trace/trace.ts', 'src/proxy/trace/format.ts'],
    tests: ['test/unit/proxy-trace.test.ts'],
  },
  overlay: {
    mutate: ['src/overlay/plan.ts', 'src/overlay/diff.ts'],
    tests: ['test/unit/overlay-plan.test.ts', 'test/unit/overlay-diff.test.ts'],
  },
  'overlay-claims': {
    mutate: ['src/overlay/subnet-claims.ts'],
    tests: ['test/unit/overlay-subnet-claims.test.ts', 'test/unit/overlay-plan.test.ts'],
  },
  apps: {
    mutate: ['src/api/controllers/rollout-plan.ts', 'src/api/controllers/int-or-percent.ts', 'src/api/controllers/replicaset-plan.ts', 'src/api/controllers/controller-ref.ts'],
    tests: ['test/unit/api-apps-rollout-plan.test.ts', 'test/unit/api-apps-replicaset-plan.test.ts'],
    strip: true,
  },
  scheduler: {
    mutate: ['src/api/controllers/scheduler-plan.ts', 'src/api/pod-grace.ts'],
    tests: ['test/unit/api-scheduler-plan.test.ts'],
  },
  kubelet: {
    mutate: ['src/lab/kubelet/service-env.ts', 'src/lab/kubelet/container-env.ts'],
    tests: ['test/unit/kubelet-service-env.test.ts', 'test/unit/kubelet-container-env.test.ts'],
  },
  lab: {
    mutate: ['src/lab/matrix.ts', 'src/lab/topology.ts'],
    tests: ['test/unit/lab-matrix.test.ts', 'test/unit/lab-topology.test.ts'],
  },
  'proxy-userspace': {
    mutate: ['src/proxy/userspace/picker.ts', 'src/proxy/userspace/decide.ts'],
    tests: ['test/unit/proxy-userspace-picker.test.ts', 'test/unit/proxy-userspace-rules.test.ts'],
  },
  // The cluster DNS mapping and its normalisers; the wire decisions (respond.ts) with their unit test.
  dns: {
    mutate: ['src/dns/records.ts', 'src/dns/normalize.ts', 'src/dns/respond.ts'],
    tests: ['test/unit/dns-records.test.ts', 'test/unit/dns-respond.test.ts'],
  },
  // the answer cache in front of respond(): keys, ID rewrite, snapshot identity, bounds
  'dns-cache': {
    mutate: ['src/dns/answer-cache.ts'],
    tests: ['test/unit/dns-answer-cache.test.ts'],
  },
  // the IPVS planner and its diff against the kernel (the rules file is pinned by its golden dumps)
  'proxy-ipvs': {
    mutate: ['src/proxy/ipvs/desired.ts', 'src/proxy/ipvs/diff.ts', 'src/proxy/ipvs/drain.ts'],
    tests: ['test/unit/proxy-ipvs-plan.test.ts'],
  },
  // ipset over nfnetlink: the codec (byte-exact against the tool's messages) and the restore text parser
  ipset: {
    mutate: ['src/netlink/codec-ipset.ts', 'src/netlink/ipset-restore.ts'],
    tests: ['test/unit/netlink-ipset-codec.test.ts', 'test/unit/netlink-ipset-restore.test.ts'],
  },
  // IPVS over generic netlink: the service and real-server nests (byte-exact) and the dump decoders
  'ipvs-codec': {
    mutate: ['src/netlink/codec-ipvs.ts'],
    tests: ['test/unit/netlink-ipvs-codec.test.ts'],
  },
  // what `pontoon install` would write and remove, decided before anything is touched
  install: {
    mutate: ['src/install/plan.ts'],
    tests: ['test/unit/install-plan.test.ts'],
  },
  // the guest's command line, disk and forwards for `lab up --vm`
  'lab-vm': {
    mutate: ['src/lab/vm/plan.ts', 'src/lab/vm/control-auth.ts'],
    tests: ['test/unit/lab-vm-plan.test.ts', 'test/unit/lab-vm-control.test.ts'],
  },
}

const THRESHOLD = 80

const argv = yargs(hideBin(process.argv))
  .scriptName('npm run mutate --')
  .usage('$0 [group..]', 'mutation-test the named groups (all when none is named)', (y) =>
    y.positional('group', { type: 'string', array: true, choices: Object.keys(GROUPS) }))
  .option('concurrency', { type: 'number', default: 2, choices: [1, 2], describe: 'test processes per run (the machine is shared)' })
  .option('dry-run', { type: 'boolean', default: false, describe: "only check each group's wiring: one test run, no mutants" })
  .strict()
  .parseSync()

const names = argv.group?.length ? argv.group : Object.keys(GROUPS)
const outDir = join(root, 'reports', 'mutation')
mkdirSync(outDir, { recursive: true })

function configFor(name) {
  const g = GROUPS[name]
  return {
    $schema: '../../node_modules/@stryker-mutator/core/schema/stryker-schema.json',
    testRunner: 'tap',
    plugins: ['@stryker-mutator/tap-runner'],
    // The runner spawns the `node` on PATH, which under `npm run` is this one.
    tap: { testFiles: g.tests, nodeArgs: g.strip && process.features.typescript ? [] : ['--import', 'tsx'] },
    mutate: g.mutate,
    coverageAnalysis: 'perTest',
    // A shared, busy machine: a slow test is not an infinite loop.
    timeoutMS: 15000,
    concurrency: argv.concurrency,
    // The sandbox needs src/ and test/ only; the rest (other groups' sandboxes too) would be copied for nothing.
    ignorePatterns: ['dist', 'bench', 'reports', '.tap', '*.log', '.stryker-tmp', '.tools'],
    tempDirName: `.stryker-tmp/${name}`,
    reporters: ['clear-text', 'progress', 'json'],
    jsonReporter: { fileName: relative(root, join(outDir, `${name}.json`)) },
    thresholds: { high: 90, low: THRESHOLD, break: null },
  }
}

/** Stryker's own score: detected (killed or timed out) over all valid mutants. */
function tally(report) {
  const rows = []
  for (const [file, { mutants }] of Object.entries(report.files)) {
    const c = { killed: 0, survived: 0, noCoverage: 0, timeout: 0, invalid: 0 }
    for (const m of mutants) {
      if (m.status === 'Killed') c.killed++
      else if (m.status === 'Survived') c.survived++
      else if (m.status === 'NoCoverage') c.noCoverage++
      else if (m.status === 'Timeout') c.timeout++
      else c.invalid++ // CompileError, RuntimeError, Ignored: not counted, as Stryker does
    }
    const valid = c.killed + c.timeout + c.survived + c.noCoverage
    rows.push({ file, mutants: valid, ...c, score: valid ? (100 * (c.killed + c.timeout)) / valid : 100 })
  }
  return rows.sort((a, b) => a.file.localeCompare(b.file))
}

const results = []
let failedRun = false
for (const name of names) {
  const cfgPath = join(outDir, `${name}.config.json`)
  writeFileSync(cfgPath, JSON.stringify(configFor(name), null, 2) + '\n')
  console.log(`\n=== mutate ${name}: ${GROUPS[name].mutate.join(' ')} <- ${GROUPS[name].tests.join(' ')}`)
  const args = ['run', cfgPath, ...(argv.dryRun ? ['--dryRunOnly'] : [])]
  const r = spawnSync(join(root, 'node_modules', '.bin', 'stryker'), args, { cwd: root, stdio: 'inherit' })
  if (r.status !== 0) {
    console.error(`mutate ${name}: stryker exited with ${r.status ?? r.signal}`)
    failedRun = true
    continue
  }
  if (argv.dryRun) continue
  const report = JSON.parse(readFileSync(join(outDir, `${name}.json`), 'utf8'))
  for (const row of tally(report)) results.push({ group: name, ...row })
}

if (argv.dryRun) {
  console.log(failedRun ? '\ndry run: some group failed its test run' : `\ndry run: ${names.join(', ')} wired`)
  process.exit(failedRun ? 1 : 0)
}

if (results.length === 0) {
  console.error('\nno group finished: no scores')
  process.exit(1)
}

const header = ['group', 'module', 'mutants', 'killed', 'timeout', 'survived', 'no coverage', 'score']
const lines = results.map((r) => [r.group, r.file, r.mutants, r.killed, r.timeout, r.survived, r.noCoverage, `${r.score.toFixed(1)}%`].map(String))
const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)))
const fmt = (cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
console.log('\nMutation scores (target >= ' + THRESHOLD + '% per module)')
console.log(fmt(header))
console.log(widths.map((w) => '-'.repeat(w)).join('  '))
for (const l of lines) console.log(fmt(l))
const below = results.filter((r) => r.score < THRESHOLD)
if (below.length) console.log(`below ${THRESHOLD}%: ${below.map((r) => r.file).join(', ')}`)
process.exitCode = failedRun || below.length ? 1 : 0
