// Parses deploy/container/compose.yaml and deploy/k8s/**/*.yaml and checks them against
// JSON schemas of the fields this deployment relies on, then cross-checks what a schema
// cannot see (selectors that match, ports that exist, keys that are placeholders, Secret
// file modes the key readers accept, images pinned to a version).
// Usage: node check_manifests.mjs SOURCE_DIR
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';

const src = process.argv[2];
const require = createRequire(join(src, 'package.json'));
const YAML = require('yaml');
const Ajv = require('ajv');
const ajv = new Ajv({ allErrors: true, strict: false });

const errors = [];
const fail = (where, msg) => errors.push(`${where}: ${msg}`);

const str = { type: 'string', minLength: 1 };
const labels = { type: 'object', additionalProperties: { type: 'string' }, minProperties: 1 };
const meta = { type: 'object', required: ['name', 'labels'], properties: { name: str, labels } };
const selector = {
  type: 'object', required: ['matchLabels'], properties: { matchLabels: labels },
};
const port = { type: 'integer', minimum: 1, maximum: 65535 };
// The gRPC port speaks TLS, which Kubernetes' gRPC probes cannot: probes are HTTP GETs
// of the metrics endpoint, readiness /readyz (the store) and liveness /livez (the
// process), so a chain outage neither pulls a pod out of the Service nor restarts it.
const httpProbe = (path) => ({
  type: 'object', required: ['httpGet'],
  properties: {
    httpGet: {
      type: 'object', required: ['path', 'port'],
      properties: { path: { const: path }, port },
    },
  },
});

// A container of a workload that serves no probe (the attestor, a backup job).
const plainContainer = {
  type: 'object',
  required: ['name', 'image', 'resources', 'securityContext'],
  properties: {
    image: str,
    resources: { type: 'object', required: ['requests', 'limits'] },
    securityContext: {
      type: 'object',
      required: ['allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'capabilities'],
      properties: {
        allowPrivilegeEscalation: { const: false },
        readOnlyRootFilesystem: { const: true },
      },
    },
  },
};
const podSpec = (container) => ({
  type: 'object', required: ['containers', 'securityContext'],
  properties: {
    securityContext: {
      type: 'object', required: ['runAsNonRoot'],
      properties: { runAsNonRoot: { const: true } },
    },
    containers: { type: 'array', minItems: 1, items: container },
  },
});
const podTemplate = (container) => ({
  type: 'object', required: ['metadata', 'spec'],
  properties: {
    metadata: { type: 'object', required: ['labels'], properties: { labels } },
    spec: podSpec(container),
  },
});

const schemas = {
  'v1/ConfigMap': {
    type: 'object', required: ['metadata', 'data'],
    properties: { metadata: meta, data: { type: 'object', minProperties: 1 } },
  },
  'apps/v1/StatefulSet': {
    type: 'object', required: ['metadata', 'spec'],
    properties: {
      metadata: meta,
      spec: {
        type: 'object', required: ['replicas', 'serviceName', 'selector', 'template', 'volumeClaimTemplates'],
        properties: {
          replicas: { const: 1 },
          serviceName: str,
          selector,
          template: podTemplate(plainContainer),
          volumeClaimTemplates: { type: 'array', minItems: 1 },
        },
      },
    },
  },
  'batch/v1/CronJob': {
    type: 'object', required: ['metadata', 'spec'],
    properties: {
      metadata: meta,
      spec: {
        type: 'object', required: ['schedule', 'concurrencyPolicy', 'jobTemplate'],
        properties: {
          schedule: str,
          concurrencyPolicy: { const: 'Forbid' },
          jobTemplate: {
            type: 'object', required: ['spec'],
            properties: {
              spec: { type: 'object', required: ['template'], properties: { template: podTemplate(plainContainer) } },
            },
          },
        },
      },
    },
  },
  'v1/Secret': {
    type: 'object', required: ['metadata', 'type', 'stringData'],
    properties: { metadata: meta, stringData: { type: 'object', minProperties: 1 } },
  },
  'v1/Service': {
    type: 'object', required: ['metadata', 'spec'],
    properties: {
      metadata: meta,
      spec: {
        // ports: required unless headless (checked below)
        type: 'object', required: ['selector'],
        properties: {
          selector: labels,
          ports: {
            type: 'array', minItems: 1,
            items: { type: 'object', required: ['name', 'port', 'targetPort'], properties: { name: str, port } },
          },
        },
      },
    },
  },
  'v1/PersistentVolumeClaim': {
    type: 'object', required: ['metadata', 'spec'],
    properties: { metadata: meta, spec: { type: 'object', required: ['accessModes', 'resources'] } },
  },
  'apps/v1/Deployment': {
    type: 'object', required: ['metadata', 'spec'],
    properties: {
      metadata: meta,
      spec: {
        type: 'object', required: ['replicas', 'selector', 'template', 'strategy'],
        properties: {
          replicas: { type: 'integer', minimum: 1 },
          strategy: { type: 'object', properties: { type: { enum: ['Recreate', 'RollingUpdate'] } }, required: ['type'] },
          selector,
          template: {
            type: 'object', required: ['metadata', 'spec'],
            properties: {
              metadata: { type: 'object', required: ['labels'], properties: { labels } },
              spec: {
                type: 'object', required: ['containers', 'securityContext'],
                properties: {
                  securityContext: {
                    type: 'object', required: ['runAsNonRoot'],
                    properties: { runAsNonRoot: { const: true } },
                  },
                  containers: {
                    type: 'array', minItems: 1,
                    items: {
                      type: 'object',
                      required: ['name', 'image', 'ports', 'readinessProbe', 'livenessProbe',
                                 'resources', 'securityContext'],
                      properties: {
                        image: str,
                        ports: {
                          type: 'array',
                          items: { type: 'object', required: ['name', 'containerPort'], properties: { containerPort: port } },
                        },
                        readinessProbe: httpProbe('/readyz'),
                        livenessProbe: httpProbe('/livez'),
                        resources: { type: 'object', required: ['requests', 'limits'] },
                        securityContext: {
                          type: 'object',
                          required: ['allowPrivilegeEscalation', 'readOnlyRootFilesystem', 'capabilities'],
                          properties: {
                            allowPrivilegeEscalation: { const: false },
                            readOnlyRootFilesystem: { const: true },
                          },
                        },
                      },
                    },
                  },
                },
              },
            },
          },
        },
      },
    },
  },
  'policy/v1/PodDisruptionBudget': {
    type: 'object', required: ['metadata', 'spec'],
    properties: {
      metadata: meta,
      spec: {
        type: 'object', required: ['selector'], properties: { selector },
        oneOf: [{ required: ['minAvailable'] }, { required: ['maxUnavailable'] }],
      },
    },
  },
  'monitoring.coreos.com/v1/ServiceMonitor': {
    type: 'object', required: ['metadata', 'spec'],
    properties: {
      metadata: meta,
      spec: {
        type: 'object', required: ['selector', 'endpoints'],
        properties: {
          selector,
          endpoints: { type: 'array', minItems: 1, items: { type: 'object', required: ['port'] } },
        },
      },
    },
  },
};

const composeSchema = {
  type: 'object', required: ['services', 'secrets', 'volumes'],
  properties: {
    services: {
      type: 'object',
      required: ['gateway', 'attestor', 'postgres', 'anvil', 'prometheus'],
      additionalProperties: {
        type: 'object',
        anyOf: [{ required: ['image'] }, { required: ['build'] }],
        properties: {
          image: str,
          ports: { type: 'array', items: { type: 'string', pattern: '^127\\.0\\.0\\.1:\\d+:\\d+$' } },
          restart: { enum: ['no', 'always', 'on-failure', 'unless-stopped'] },
        },
      },
    },
    secrets: { type: 'object', additionalProperties: { type: 'object', required: ['file'] } },
  },
};

function validate(where, schema, doc) {
  const v = ajv.compile(schema);
  if (!v(doc))
    for (const e of v.errors) fail(where, `${e.instancePath || '/'} ${e.message}`);
}

// Kubernetes reads its YAML as YAML 1.1, where 0440 is octal (file modes); compose files
// are read as 1.2.
function parseAll(path, version = '1.2') {
  const docs = YAML.parseAllDocuments(readFileSync(path, 'utf8'), { version });
  for (const d of docs)
    if (d.errors.length) fail(path, d.errors.map((e) => e.message).join('; '));
  return docs.map((d) => d.toJS());
}

const sameLabels = (sel, lab) => Object.entries(sel).every(([k, v]) => lab?.[k] === v);

// ---- compose ----
const composePath = join(src, 'deploy/container/compose.yaml');
const compose = parseAll(composePath)[0];
validate(composePath, composeSchema, compose);
for (const [name, svc] of Object.entries(compose?.services ?? {})) {
  for (const s of svc.secrets ?? [])
    if (!compose.secrets?.[s]) fail(composePath, `service ${name} uses undeclared secret ${s}`);
  for (const dep of Object.keys(svc.depends_on ?? {}))
    if (!compose.services[dep]) fail(composePath, `service ${name} depends on unknown ${dep}`);
  for (const vol of svc.volumes ?? []) {
    const from = String(vol).split(':')[0];
    if (!from.startsWith('.') && !from.startsWith('/') && !(from in (compose.volumes ?? {})))
      fail(composePath, `service ${name} mounts undeclared volume ${from}`);
  }
}
for (const name of ['gateway', 'attestor', 'backup'])
  if (!(compose?.services?.[name]?.cap_drop ?? []).includes('ALL'))
    fail(composePath, `service ${name} must drop all capabilities`);

// Images: pinned to a version, never a floating tag. Anvil is the foundry release the
// tests use (package.json); the Custos image is the project's version (CMakeLists.txt).
const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
const foundry = pkg.devDependencies?.['@foundry-rs/anvil-linux-amd64'] ?? pkg.dependencies?.['@foundry-rs/anvil-linux-amd64'];
const version = /project\(custos VERSION ([0-9.]+)/.exec(readFileSync(join(src, 'CMakeLists.txt'), 'utf8'))?.[1];
const pinned = (where, image) => {
  const tag = /^[^@]+:([^:/@]+)$/.exec(image)?.[1];
  if (!/@sha256:[0-9a-f]{64}$/.test(image) && (!tag || tag === 'latest'))
    fail(where, `image ${image} is not pinned to a version tag or digest`);
  if (/\/custos(:|@)/.test(image) && !image.endsWith(`:${version}`))
    fail(where, `image ${image}: the Custos image is tagged with the project version ${version}`);
};
for (const [name, svc] of Object.entries(compose?.services ?? {}))
  if (svc.image) pinned(`${composePath} service ${name}`, svc.image);
if (compose?.services?.anvil?.image !== `ghcr.io/foundry-rs/foundry:v${foundry}`)
  fail(composePath, `anvil must run ghcr.io/foundry-rs/foundry:v${foundry} (package.json's foundry), not ${compose?.services?.anvil?.image}`);

// The gateway is health-checked through its metrics port; the attestor runs the daemon
// with its spool in a volume, and no health check (it serves no port).
const healthTest = (compose?.services?.gateway?.healthcheck?.test ?? []).join(' ');
if (!/http:\/\/127\.0\.0\.1:9464\/readyz/.test(healthTest))
  fail(composePath, 'service gateway needs a healthcheck of http://127.0.0.1:9464/readyz');
const att = compose?.services?.attestor ?? {};
if ([].concat(att.entrypoint ?? [], att.command ?? []).join(' ') !==
    '/usr/local/bin/custos-attestor run --config /etc/custos/attestor/attestor.json')
  fail(composePath, 'service attestor must run custos-attestor run --config /etc/custos/attestor/attestor.json');
if (!(att.volumes ?? []).some((v) => /^[a-z-]+:\/var\/lib\/custos-attestor$/.test(String(v))))
  fail(composePath, 'service attestor must keep /var/lib/custos-attestor (state, spool) in a volume');
if (att.healthcheck?.disable !== true)
  fail(composePath, "service attestor must disable the image's health check (it serves no port)");

// ---- Kubernetes ----
// Two sets: deploy/k8s/*.yaml (one gateway on SQLite), and deploy/k8s/replicas/*.yaml
// (several on PostgreSQL) applied with the first set's Secrets, Service and
// ServiceMonitor.
const k8sDir = join(src, 'deploy/k8s');
const yamlIn = (dir) => readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort().map((n) => join(dir, n));
// Each set's objects, by kind: a number is the exact count, '+' one or more.
const gatewayKinds = { Deployment: 1, Service: 1, ConfigMap: 1, Secret: '+', ServiceMonitor: 1,
                       PodDisruptionBudget: 1, CronJob: 1, PersistentVolumeClaim: '+' };
const sets = [
  { name: 'deploy/k8s', files: yamlIn(k8sDir), replicas: false, kinds: gatewayKinds },
  {
    name: 'deploy/k8s/replicas',
    files: ['secret.yaml', 'service.yaml', 'servicemonitor.yaml'].map((n) => join(k8sDir, n))
      .concat(yamlIn(join(k8sDir, 'replicas'))),
    replicas: true,
    kinds: gatewayKinds,
  },
  {
    name: 'deploy/k8s/attestor', files: yamlIn(join(k8sDir, 'attestor')), attestor: true,
    kinds: { StatefulSet: 1, Service: 1, ConfigMap: 1, Secret: '+' },
  },
];
let nObjects = 0;
for (const set of sets) nObjects += checkSet(set);

function checkSet(set) {
  const failIn = (where, msg) => fail(`${set.name}: ${where}`, msg);
  const objects = [];
  for (const path of set.files) {
    const f = path.slice(k8sDir.length + 1);
    for (const doc of parseAll(path, '1.1')) {
      if (doc == null) continue;
      const key = `${doc.apiVersion}/${doc.kind}`;
      const where = `${f} ${key} ${doc.metadata?.name}`;
      if (!schemas[key]) { failIn(where, 'no schema for this kind'); continue; }
      validate(where, schemas[key], doc);
      objects.push({ where, key, doc });
    }
  }
  const byKind = (k) => objects.filter((o) => o.key.endsWith(`/${k}`)).map((o) => o.doc);
  const kinds = new Set(objects.map((o) => o.doc.kind));
  for (const [kind, want] of Object.entries(set.kinds)) {
    const n = byKind(kind).length;
    if (want === '+' ? n < 1 : n !== want)
      failIn('', `expected ${want === '+' ? 'at least one' : want} ${kind}, found ${n}`);
    kinds.delete(kind);
  }
  for (const kind of kinds) failIn('', `unexpected ${kind}`);

  // Every pod: the images pinned; Secret files mounted one by one (subPath: regular files,
  // as the key readers require) with the mode they accept. The kubelet makes Secret files
  // root-owned, their group the pod's fsGroup: a non-root pod reads them through that
  // group, so fsGroup and defaultMode 0440 (owner and group read, nothing else), which
  // custos_secret_mode_check accepts for a root-owned file.
  const pods = [];
  for (const o of objects) {
    const d = o.doc;
    const tmpl = d.kind === 'CronJob' ? d.spec?.jobTemplate?.spec?.template : d.spec?.template;
    if (tmpl) pods.push({ name: `${d.kind} ${d.metadata?.name}`, spec: tmpl.spec ?? {} });
  }
  for (const pod of pods) {
    const sc = pod.spec.securityContext ?? {};
    for (const c of pod.spec.containers ?? []) {
      pinned(`${set.name}: ${pod.name}`, c.image ?? '');
      for (const m of c.volumeMounts ?? []) {
        const v = (pod.spec.volumes ?? []).find((x) => x.name === m.name);
        if (v?.secret && !m.subPath)
          failIn(pod.name, `mount ${m.mountPath}: mount Secret files one by one (subPath); a whole Secret volume presents them as symbolic links, which the key readers refuse`);
      }
    }
    for (const v of pod.spec.volumes ?? []) {
      if (!v.secret) continue;
      const modes = [v.secret.defaultMode ?? 0o644].concat((v.secret.items ?? []).map((i) => i.mode ?? v.secret.defaultMode ?? 0o644));
      for (const mode of modes) {
        const oct = '0' + mode.toString(8);
        if (!(sc.runAsUser > 0) || sc.fsGroup === undefined || mode !== 0o440)
          failIn(pod.name, `volume ${v.name}: Secret files are root-owned; a pod running as a non-root uid needs fsGroup and defaultMode 0440 to read them as Custos accepts (found runAsUser ${sc.runAsUser}, fsGroup ${sc.fsGroup}, mode ${oct})`);
      }
    }
  }
  for (const svc of byKind('Service'))
    if (svc.spec?.clusterIP !== 'None' && !(svc.spec?.ports ?? []).length)
      failIn(svc.metadata.name, 'a Service with a cluster IP needs ports');
  for (const dep of byKind('Deployment')) {
    const tmpl = dep.spec?.template;
    if (!sameLabels(dep.spec?.selector?.matchLabels ?? {}, tmpl?.metadata?.labels))
      failIn(dep.metadata.name, 'selector does not match the pod template labels');
    const names = new Set((tmpl?.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => p.name)));
    const cports = new Set((tmpl?.spec?.containers ?? []).flatMap((c) => (c.ports ?? []).map((p) => p.containerPort)));
    for (const c of tmpl?.spec?.containers ?? []) {
      for (const probe of [c.readinessProbe, c.livenessProbe])
        if (probe?.httpGet && !cports.has(probe.httpGet.port))
          failIn(dep.metadata.name, `probe port ${probe.httpGet.port} is not a container port`);
      for (const m of c.volumeMounts ?? [])
        if (!(tmpl.spec.volumes ?? []).some((v) => v.name === m.name))
          failIn(dep.metadata.name, `mount ${m.name} has no volume`);
    }
    for (const v of tmpl?.spec?.volumes ?? []) {
      if (v.configMap && !byKind('ConfigMap').some((c) => c.metadata.name === v.configMap.name))
        failIn(dep.metadata.name, `volume ${v.name}: no ConfigMap ${v.configMap.name}`);
      if (v.secret && !byKind('Secret').some((s) => s.metadata.name === v.secret.secretName))
        failIn(dep.metadata.name, `volume ${v.name}: no Secret ${v.secret.secretName}`);
      if (v.persistentVolumeClaim &&
          !byKind('PersistentVolumeClaim').some((p) => p.metadata.name === v.persistentVolumeClaim.claimName))
        failIn(dep.metadata.name, `volume ${v.name}: no PersistentVolumeClaim`);
    }
    for (const svc of byKind('Service')) {
      if (!sameLabels(svc.spec?.selector ?? {}, tmpl?.metadata?.labels))
        failIn(svc.metadata.name, 'Service selects no pod of the Deployment');
      for (const p of svc.spec?.ports ?? [])
        if (typeof p.targetPort === 'string' && !names.has(p.targetPort))
          failIn(svc.metadata.name, `targetPort ${p.targetPort} is no container port name`);
    }
    for (const pdb of byKind('PodDisruptionBudget'))
      if (!sameLabels(pdb.spec?.selector?.matchLabels ?? {}, tmpl?.metadata?.labels))
        failIn(pdb.metadata.name, 'PodDisruptionBudget selects no pod of the Deployment');
  }
  for (const sm of byKind('ServiceMonitor')) {
    const svc = byKind('Service').find((s) => sameLabels(sm.spec?.selector?.matchLabels ?? {}, s.metadata?.labels));
    if (!svc) failIn(sm.metadata.name, 'ServiceMonitor selects no Service');
    for (const ep of sm.spec?.endpoints ?? [])
      if (svc && !(svc.spec.ports ?? []).some((p) => p.name === ep.port))
        failIn(sm.metadata.name, `endpoint port ${ep.port} is not a Service port`);
  }
  // Placeholders only: anything that looks like a private key (64 hex digits) is refused.
  for (const s of byKind('Secret'))
    for (const [k, v] of Object.entries({ ...(s.stringData ?? {}), ...(s.data ?? {}) }))
      if (!/PLACEHOLDER/.test(String(v)) || /[0-9a-fA-F]{64}/.test(String(v)))
        failIn(s.metadata.name, `${k} must be a placeholder, never key material`);
  for (const cm of byKind('ConfigMap').filter((c) => c.data?.['gateway.ini'] !== undefined))
    if (!/^\[metrics\]\s*\nlisten = 0\.0\.0\.0:9464/m.test(cm.data?.['gateway.ini'] ?? ''))
      failIn(cm.metadata.name, 'gateway.ini must serve [metrics] on 0.0.0.0:9464 (the metrics port)');
  // The cluster's gateway serves TLS and requires client certificates: never plaintext.
  for (const cm of byKind('ConfigMap').filter((c) => c.data?.['gateway.ini'] !== undefined)) {
    const ini = cm.data?.['gateway.ini'] ?? '';
    const tls = /^\[tls\]\s*\n((?:[a-z_]+ = .*\n)+)/m.exec(ini);
    if (!tls || !/^cert = /m.test(tls[1]) || !/^key = /m.test(tls[1]) || !/^client_ca = /m.test(tls[1]))
      failIn(cm.metadata.name, 'gateway.ini must configure [tls] cert, key and client_ca');
    if (/^insecure\s*=\s*true/m.test(ini))
      failIn(cm.metadata.name, 'gateway.ini must not serve plaintext (insecure = true)');
  }

  // The store decides the shape: SQLite has one writer (one pod, Recreate, its volume);
  // PostgreSQL replicas keep everything in the database (no volume, no [evm] state) and
  // take the password from a Secret.
  for (const dep of byKind('Deployment')) {
    const ini = byKind('ConfigMap')[0]?.data?.['gateway.ini'] ?? '';
    const pg = /^store = postgres(ql)?:\/\//m.test(ini);
    const spec = dep.spec ?? {};
    const vols = spec.template?.spec?.volumes ?? [];
    if (pg !== set.replicas)
      failIn('', `the store must be ${set.replicas ? 'PostgreSQL' : 'SQLite'} in this set`);
    if (!pg) {
      if (spec.replicas !== 1 || spec.strategy?.type !== 'Recreate')
        failIn(dep.metadata.name, 'a SQLite store takes one replica and the Recreate strategy');
      if (!vols.some((v) => v.persistentVolumeClaim))
        failIn(dep.metadata.name, 'a SQLite store needs its PersistentVolumeClaim');
      continue;
    }
    if (spec.replicas < 2)
      failIn(dep.metadata.name, 'the PostgreSQL variant runs several replicas');
    if (vols.some((v) => v.persistentVolumeClaim))
      failIn(dep.metadata.name, 'replicas share no volume: their state is in PostgreSQL');
    if (/^state\s*=/m.test(ini))
      failIn(dep.metadata.name, 'no [evm] state with a PostgreSQL store');
    const pw = (spec.template?.spec?.containers ?? []).flatMap((c) => c.env ?? [])
      .find((e) => e.name === 'PGPASSWORD');
    const ref = pw?.valueFrom?.secretKeyRef;
    if (!ref || pw.value !== undefined)
      failIn(dep.metadata.name, 'PGPASSWORD must come from a Secret (secretKeyRef)');
    else if (!byKind('Secret').some((s) => s.metadata.name === ref.name &&
                                        ref.key in { ...(s.stringData ?? {}), ...(s.data ?? {}) }))
      failIn(dep.metadata.name, `PGPASSWORD: no key ${ref.key} in a Secret ${ref.name}`);
    for (const pdb of byKind('PodDisruptionBudget'))
      if (pdb.spec?.minAvailable !== undefined && pdb.spec.minAvailable >= spec.replicas)
        failIn(pdb.metadata.name, 'minAvailable leaves no pod to evict');
  }

  // The backup job backs up the store of the gateway's config. SQLite: beside the gateway
  // (same node, same claim: one writer, read through the same kernel's locks). PostgreSQL:
  // pg_dump with the password from the Secret.
  for (const job of byKind('CronJob')) {
    const ini = byKind('ConfigMap')[0]?.data?.['gateway.ini'] ?? '';
    const store = /^store = (.*)$/m.exec(ini)?.[1];
    const pod = job.spec?.jobTemplate?.spec?.template?.spec ?? {};
    const c = (pod.containers ?? [])[0] ?? {};
    const argv = [].concat(c.command ?? [], c.args ?? []);
    const at = argv.indexOf('--store');
    if (argv[0] !== '/usr/local/bin/custos-backup' || at < 0 || argv[at + 1] !== store)
      failIn(job.metadata.name, `must run /usr/local/bin/custos-backup --store ${store} (the gateway's store)`);
    if (!argv.includes('--dir') || !argv.includes('--keep'))
      failIn(job.metadata.name, 'custos-backup needs --dir and --keep (retention)');
    const dep = byKind('Deployment')[0];
    const depLabels = dep?.spec?.template?.metadata?.labels ?? {};
    if (byKind('Service').some((svc) => sameLabels(svc.spec?.selector ?? {}, job.spec?.jobTemplate?.spec?.template?.metadata?.labels)))
      failIn(job.metadata.name, "the backup pods' labels must not match the gateway Service's selector");
    if (set.replicas) {
      const pw = (c.env ?? []).find((e) => e.name === 'PGPASSWORD');
      if (!pw?.valueFrom?.secretKeyRef)
        failIn(job.metadata.name, 'PGPASSWORD must come from a Secret (secretKeyRef)');
      continue;
    }
    const claim = (dep?.spec?.template?.spec?.volumes ?? []).find((v) => v.persistentVolumeClaim)?.persistentVolumeClaim?.claimName;
    if (!(pod.volumes ?? []).some((v) => v.persistentVolumeClaim?.claimName === claim))
      failIn(job.metadata.name, `must mount the gateway's claim ${claim}`);
    const terms = pod.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
    if (!terms.some((t) => t.topologyKey === 'kubernetes.io/hostname' && sameLabels(t.labelSelector?.matchLabels ?? {}, depLabels)))
      failIn(job.metadata.name, "a SQLite backup must run on the gateway's node (required podAffinity on kubernetes.io/hostname)");
  }

  // The attestor: the daemon, with every file its attestor.json names mounted where it
  // says (keys from Secrets, inputs from the ConfigMap's directory, state and spool on the
  // StatefulSet's claim).
  for (const sts of byKind('StatefulSet')) {
    const pod = sts.spec?.template?.spec ?? {};
    const c = (pod.containers ?? [])[0] ?? {};
    const argv = [].concat(c.command ?? [], c.args ?? []);
    const cfgAt = argv.indexOf('--config');
    if (argv[0] !== '/usr/local/bin/custos-attestor' || argv[1] !== 'run' || cfgAt < 0)
      failIn(sts.metadata.name, 'must run /usr/local/bin/custos-attestor run --config FILE');
    const cfgPath = argv[cfgAt + 1] ?? '';
    const mounts = c.volumeMounts ?? [];
    const cfgMount = mounts.find((m) => cfgPath.startsWith(m.mountPath + '/'));
    const cmVol = (pod.volumes ?? []).find((v) => v.name === cfgMount?.name && v.configMap);
    const cm = byKind('ConfigMap').find((x) => x.metadata.name === cmVol?.configMap?.name);
    const cfgName = cfgPath.slice((cfgMount?.mountPath ?? '').length + 1);
    let conf = null;
    try { conf = JSON.parse(cm?.data?.[cfgName] ?? ''); } catch (e) {
      failIn(sts.metadata.name, `${cfgPath}: not in a mounted ConfigMap, or not JSON (${e.message})`);
      continue;
    }
    const secretMount = (path) => mounts.find((m) => m.mountPath === path &&
      (pod.volumes ?? []).some((v) => v.name === m.name && v.secret));
    for (const k of ['key', 'tls_ca', 'tls_cert', 'tls_key'])
      if (!secretMount(conf[k]))
        failIn(sts.metadata.name, `attestor.json ${k} ${conf[k]} is no Secret file mounted in the pod`);
    for (const k of ['holdings', 'prices', 'policy'])
      if (conf[k] && (conf[k].startsWith('/') || !(conf[k] in cm.data)))
        failIn(sts.metadata.name, `attestor.json ${k} ${conf[k]} is not a file of the ConfigMap beside it`);
    const claims = (sts.spec?.volumeClaimTemplates ?? []).map((t) => t.metadata?.name);
    for (const k of ['state', 'spool'])
      if (!mounts.some((m) => claims.includes(m.name) && String(conf[k]).startsWith(m.mountPath + '/')))
        failIn(sts.metadata.name, `attestor.json ${k} ${conf[k]} is not on the StatefulSet's claim`);
    const svc = byKind('Service').find((x) => x.metadata.name === sts.spec?.serviceName);
    if (!svc || svc.spec?.clusterIP !== 'None' || !sameLabels(svc.spec?.selector ?? {}, sts.spec?.template?.metadata?.labels))
      failIn(sts.metadata.name, `serviceName ${sts.spec?.serviceName}: needs a headless Service selecting its pod`);
    if (!sameLabels(sts.spec?.selector?.matchLabels ?? {}, sts.spec?.template?.metadata?.labels))
      failIn(sts.metadata.name, 'selector does not match the pod template labels');
  }
  return objects.length;
}

if (errors.length) {
  for (const e of errors) console.error(e);
  console.error(`${errors.length} problem(s)`);
  process.exit(1);
}
console.log(`compose.yaml and ${nObjects} Kubernetes objects in ${sets.length} sets: ok`);
