// Parses deploy/container/compose.yaml and deploy/k8s/*.yaml and checks them against
// JSON schemas of the fields this deployment relies on, then cross-checks what a schema
// cannot see (selectors that match, ports that exist, keys that are placeholders).
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
// of the metrics endpoint's /healthz.
const httpProbe = {
  type: 'object', required: ['httpGet'],
  properties: {
    httpGet: {
      type: 'object', required: ['path', 'port'],
      properties: { path: { const: '/healthz' }, port },
    },
  },
};

const schemas = {
  'v1/ConfigMap': {
    type: 'object', required: ['metadata', 'data'],
    properties: { metadata: meta, data: { type: 'object', required: ['gateway.ini'] } },
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
        type: 'object', required: ['selector', 'ports'],
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
                        readinessProbe: httpProbe,
                        livenessProbe: httpProbe,
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

function parseAll(path) {
  const docs = YAML.parseAllDocuments(readFileSync(path, 'utf8'));
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
for (const name of ['gateway', 'attestor'])
  if (!(compose?.services?.[name]?.cap_drop ?? []).includes('ALL'))
    fail(composePath, `service ${name} must drop all capabilities`);

// ---- Kubernetes ----
// Two sets: deploy/k8s/*.yaml (one gateway on SQLite), and deploy/k8s/replicas/*.yaml
// (several on PostgreSQL) applied with the first set's Secrets, Service and
// ServiceMonitor.
const k8sDir = join(src, 'deploy/k8s');
const yamlIn = (dir) => readdirSync(dir).filter((n) => n.endsWith('.yaml')).sort().map((n) => join(dir, n));
const sets = [
  { name: 'deploy/k8s', files: yamlIn(k8sDir), replicas: false },
  {
    name: 'deploy/k8s/replicas',
    files: ['secret.yaml', 'service.yaml', 'servicemonitor.yaml'].map((n) => join(k8sDir, n))
      .concat(yamlIn(join(k8sDir, 'replicas'))),
    replicas: true,
  },
];
let nObjects = 0;
for (const set of sets) nObjects += checkSet(set);

function checkSet(set) {
  const failIn = (where, msg) => fail(`${set.name}: ${where}`, msg);
  const objects = [];
  for (const path of set.files) {
    const f = path.slice(k8sDir.length + 1);
    for (const doc of parseAll(path)) {
      if (doc == null) continue;
      const key = `${doc.apiVersion}/${doc.kind}`;
      const where = `${f} ${key} ${doc.metadata?.name}`;
      if (!schemas[key]) { failIn(where, 'no schema for this kind'); continue; }
      validate(where, schemas[key], doc);
      objects.push({ where, key, doc });
    }
  }
  const byKind = (k) => objects.filter((o) => o.key.endsWith(`/${k}`)).map((o) => o.doc);
  for (const kind of ['Deployment', 'Service', 'ConfigMap', 'Secret', 'ServiceMonitor',
                      'PodDisruptionBudget'].concat(set.replicas ? [] : ['PersistentVolumeClaim']))
    if (byKind(kind).length !== 1 && !(kind === 'Secret' && byKind(kind).length > 1))
      failIn('', `expected one ${kind}, found ${byKind(kind).length}`);
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
  for (const cm of byKind('ConfigMap'))
    if (!/^\[metrics\]\s*\nlisten = 0\.0\.0\.0:9464/m.test(cm.data?.['gateway.ini'] ?? ''))
      failIn(cm.metadata.name, 'gateway.ini must serve [metrics] on 0.0.0.0:9464 (the metrics port)');
  // The cluster's gateway serves TLS and requires client certificates: never plaintext.
  for (const cm of byKind('ConfigMap')) {
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
  return objects.length;
}

if (errors.length) {
  for (const e of errors) console.error(e);
  console.error(`${errors.length} problem(s)`);
  process.exit(1);
}
console.log(`compose.yaml and ${nObjects} Kubernetes objects in ${sets.length} sets: ok`);
