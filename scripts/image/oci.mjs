// The OCI image documents (config, manifest, index), as pure functions of the
// layers' digests: no clock, no host facts, so the same layers give the same
// bytes and the same image digest. Layout: OCI image-spec v1.0
// (image-layout.md, manifest.md, config.md).

export const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
}

/** A fixed creation time: a build's own time would change the digest of every build. */
export const EPOCH = '1970-01-01T00:00:00Z'

/** Stable JSON: the documents are built with keys in a fixed order, so plain stringify is stable. */
export const json = (v) => Buffer.from(JSON.stringify(v))

/**
 * layers: [{ digest, diffId, size }] bottom first; image: { name: 'docker.io/library/pontoon', tag }.
 * Returns the three documents as bytes, with the config's and manifest's descriptors.
 */
export function imageDocuments({ layers, image, entrypoint, env, labels, sha256 }) {
  const config = json({
    created: EPOCH,
    architecture: 'amd64',
    os: 'linux',
    config: { Entrypoint: entrypoint, Env: env, WorkingDir: '/', Labels: labels },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => l.diffId) },
    history: layers.map((l) => ({ created: EPOCH, created_by: l.createdBy })),
  })
  const configDesc = { mediaType: MEDIA.config, digest: sha256(config), size: config.length }
  const manifest = json({
    schemaVersion: 2,
    mediaType: MEDIA.manifest,
    config: configDesc,
    layers: layers.map((l) => ({ mediaType: MEDIA.layer, digest: l.digest, size: l.size })),
  })
  const manifestDesc = { mediaType: MEDIA.manifest, digest: sha256(manifest), size: manifest.length }
  // containerd names an imported image after io.containerd.image.name (without it: import-<date>);
  // ref.name is the tag that OCI tools (skopeo, umoci) look for.
  const index = json({
    schemaVersion: 2,
    mediaType: MEDIA.index,
    manifests: [{
      ...manifestDesc,
      annotations: { 'io.containerd.image.name': `${image.name}:${image.tag}`, 'org.opencontainers.image.ref.name': image.tag },
      platform: { architecture: 'amd64', os: 'linux' },
    }],
  })
  return { config, configDesc, manifest, manifestDesc, index }
}

/** A tag kind can load and pull policy IfNotPresent can keep: OCI's tag grammar, and never latest. */
export function checkTag(tag) {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/.test(tag)) return `"${tag}" is not an image tag ([A-Za-z0-9_][A-Za-z0-9_.-]{0,127})`
  if (tag === 'latest') return '"latest" means imagePullPolicy Always, and a re-pull of a kind-loaded image fails: use a version'
  return undefined
}
