/**
 * The Helm chart (deploy/helm/tessera), rendered and checked without the helm binary (neither Debian
 * nor npm packages it). The templates keep to a small part of Helm's template language, which this
 * file renders: `.Values`, `.Release` and `.Chart` fields, the functions quote, toYaml, nindent and
 * not, and if/else/end, with Go's `{{-`/`-}}` white-space trimming. Anything else in a template fails
 * the test, so the chart stays within what is checked here. Every rendered document must parse as
 * YAML, and the objects must be what a deployment needs: two replicas behind a disruption budget,
 * probes on /health and /ready, secrets from a Secret, a non-root read-only container, the metrics
 * port, the bootstrap file from a ConfigMap, resource requests; and the environment the pods get must
 * satisfy Tessera's production configuration check.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml, parseAllDocuments, stringify } from 'yaml';
import { bootstrapSchemaProblems } from '../../src/admin/bootstrap.ts';
import { loadConfig } from '../../src/config/config.ts';
import { settings } from '../../src/config/settings.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHART = join(ROOT, 'deploy/helm/tessera');

type Scope = Record<string, unknown>;

type Node = { text: string } | { action: string } | { cond: string; yes: Node[]; no: Node[] };

/** Splits a template into text and actions, trimming white space where `{{-` or `-}}` asks for it. */
function tokens(template: string): ({ text: string } | { action: string })[] {
  const out: ({ text: string } | { action: string })[] = [];
  const re = /\{\{(-?)\s*([\s\S]*?)\s*(-?)\}\}/g;
  let last = 0;
  let trimNext = false;
  for (let m = re.exec(template); m; m = re.exec(template)) {
    let text = template.slice(last, m.index);
    if (trimNext) text = text.replace(/^\s+/, '');
    if (m[1] === '-') text = text.replace(/\s+$/, '');
    out.push({ text }, { action: m[2]! });
    trimNext = m[3] === '-';
    last = re.lastIndex;
  }
  let rest = template.slice(last);
  if (trimNext) rest = rest.replace(/^\s+/, '');
  out.push({ text: rest });
  return out;
}

/** The tree of if/else/end blocks. */
function parseTemplate(template: string, file: string): Node[] {
  const root: Node[] = [];
  const stack: { yes: Node[]; no: Node[]; inElse: boolean }[] = [];
  const target = () => {
    const top = stack.at(-1);
    return top ? (top.inElse ? top.no : top.yes) : root;
  };
  for (const t of tokens(template)) {
    if ('text' in t) {
      target().push(t);
      continue;
    }
    const a = t.action;
    if (a.startsWith('/*')) continue;
    if (a.startsWith('if ')) {
      const block = { cond: a.slice(3).trim(), yes: [] as Node[], no: [] as Node[] };
      target().push(block);
      stack.push({ yes: block.yes, no: block.no, inElse: false });
    } else if (a === 'else') {
      assert.ok(stack.length, `${file}: else outside if`);
      stack.at(-1)!.inElse = true;
    } else if (a === 'end') {
      assert.ok(stack.pop(), `${file}: end without if`);
    } else target().push(t);
  }
  assert.equal(stack.length, 0, `${file}: an if without end`);
  return root;
}

function lookup(path: string, scope: Scope): unknown {
  assert.match(
    path,
    /^\.(Values|Release|Chart)(\.\w+)+$/,
    `"${path}" is outside the template subset this test renders`,
  );
  let v: unknown = scope;
  for (const part of path.slice(1).split('.')) {
    assert.ok(v !== null && typeof v === 'object' && part in v, `${path}: no such value`);
    v = (v as Scope)[part];
  }
  return v;
}

function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === 'object') return Object.keys(v).length > 0;
  return true;
}

function toText(v: unknown): string {
  assert.ok(v === null || typeof v !== 'object', `an object printed without toYaml: ${JSON.stringify(v)}`);
  return String(v ?? '');
}

function pipeline(expr: string, scope: Scope): unknown {
  const [first, ...rest] = expr.split('|').map((s) => s.trim());
  const [fn, ...args] = first!.split(/\s+/);
  let value: unknown;
  if (fn === 'not' || fn === 'toYaml' || fn === 'quote') value = apply(fn, [], lookup(args.join(' '), scope));
  else {
    assert.equal(args.length, 0, `"${first}" is outside the template subset this test renders`);
    value = lookup(fn!, scope);
  }
  for (const cmd of rest) {
    const [name, ...params] = cmd.split(/\s+/);
    value = apply(name!, params, value);
  }
  return value;
}

function apply(fn: string, params: string[], value: unknown): unknown {
  switch (fn) {
    case 'not':
      return !truthy(value);
    case 'quote':
      return JSON.stringify(toText(value));
    case 'toYaml':
      return stringify(value).replace(/\n$/, '');
    case 'nindent': {
      const pad = ' '.repeat(Number(params[0]));
      return (
        '\n' +
        String(value)
          .split('\n')
          .map((l) => pad + l)
          .join('\n')
      );
    }
    default:
      assert.fail(`the function "${fn}" is outside the template subset this test renders`);
  }
}

function render(nodes: Node[], scope: Scope): string {
  let out = '';
  for (const n of nodes) {
    if ('text' in n) out += n.text;
    else if ('action' in n) {
      const v = pipeline(n.action, scope);
      out += typeof v === 'string' ? v : toText(v);
    } else out += render(truthy(pipeline(n.cond, scope)) ? n.yes : n.no, scope);
  }
  return out;
}

function merge(base: unknown, over: unknown): unknown {
  if (over === null || typeof over !== 'object' || Array.isArray(over)) return over;
  const out: Scope = { ...(base as Scope) };
  for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
  return out;
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  // Rendered manifests, checked field by field below.
  spec?: any;
  data?: Record<string, string>;
}

/** Renders every template with the chart's values merged with `overrides`; returns the parsed objects. */
function renderChart(overrides: Scope = {}): K8sObject[] {
  const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Scope;
  const values = merge(parseYaml(readFileSync(join(CHART, 'values.yaml'), 'utf8')), overrides);
  const scope: Scope = {
    Values: values,
    Release: { Name: 'tessera', Namespace: 'default', Service: 'Helm' },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion },
  };
  const objects: K8sObject[] = [];
  for (const file of readdirSync(join(CHART, 'templates')).filter((f) => /\.ya?ml$/.test(f))) {
    const text = render(parseTemplate(readFileSync(join(CHART, 'templates', file), 'utf8'), file), scope);
    for (const doc of parseAllDocuments(text)) {
      assert.deepEqual(doc.errors, [], `${file} renders to YAML that parses:\n${text}`);
      const obj = doc.toJS() as K8sObject | null;
      if (obj === null) continue;
      assert.ok(obj.apiVersion && obj.kind && obj.metadata?.name, `${file}: apiVersion, kind and metadata.name`);
      objects.push(obj);
    }
  }
  return objects;
}

const only = (objects: K8sObject[], kind: string) => {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind}`);
  return found[0]!;
};

const knownSettings = new Set(settings.map((s) => s.env));
const dockerfileUser = /^USER\s+(\d+)(?::(\d+))?/m.exec(readFileSync(join(ROOT, 'deploy/Dockerfile'), 'utf8'));

describe('deploy/helm/tessera', () => {
  const objects = renderChart();
  const deployment = only(objects, 'Deployment');
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const env = container.env as { name: string; value?: string; valueFrom?: { secretKeyRef: Scope } }[];

  test('renders a Deployment, a Service and a PodDisruptionBudget, and no ConfigMap while bootstrap is off', () => {
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['Deployment', 'PodDisruptionBudget', 'Service']);
  });

  test('the chart is versioned with Tessera', () => {
    const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Scope;
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    assert.equal(chart.apiVersion, 'v2');
    assert.equal(chart.appVersion, pkg.version);
  });

  test('runs two replicas, rolled one at a time, behind a disruption budget that keeps one', () => {
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(deployment.spec.strategy.rollingUpdate.maxUnavailable, 0);
    const pdb = only(objects, 'PodDisruptionBudget');
    assert.equal(pdb.apiVersion, 'policy/v1');
    assert.equal(pdb.spec.minAvailable, 1);
    assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
    for (const [k, v] of Object.entries(deployment.spec.selector.matchLabels))
      assert.equal(deployment.spec.template.metadata.labels[k], v, 'the selector matches the pods');
  });

  test('probes /health for start-up and liveness and /ready for readiness, on the http port', () => {
    assert.equal(container.livenessProbe.httpGet.path, '/health');
    assert.equal(container.startupProbe.httpGet.path, '/health');
    assert.equal(container.readinessProbe.httpGet.path, '/ready');
    for (const p of [container.livenessProbe, container.readinessProbe, container.startupProbe])
      assert.equal(p.httpGet.port, 'http');
    const http = container.ports.find((p: { name: string }) => p.name === 'http');
    assert.equal(String(http.containerPort), env.find((e) => e.name === 'TESSERA_PORT')!.value);
  });

  test('follows an issuer with a path in the probe paths', () => {
    const c = only(renderChart({ basePath: '/auth' }), 'Deployment').spec.template.spec.containers[0];
    assert.equal(c.livenessProbe.httpGet.path, '/auth/health');
    assert.equal(c.readinessProbe.httpGet.path, '/auth/ready');
  });

  test('reads the database and Redis URLs and every secret from the Secret, never from a literal', () => {
    const fromSecret = (name: string) => env.find((e) => e.name === name)?.valueFrom?.secretKeyRef;
    for (const name of ['DATABASE_URL', 'REDIS_URL', 'TESSERA_SECRET', 'TESSERA_KEY_ENCRYPTION_KEY']) {
      const ref = fromSecret(name);
      assert.ok(ref, `${name} comes from a secretKeyRef`);
      assert.equal(ref.name, 'tessera');
      assert.equal(ref.key, name);
      assert.notEqual(ref.optional, true, `${name} is required: the pod does not start without it`);
    }
    for (const name of ['TESSERA_SMTP_URL', 'TESSERA_PAIRWISE_SECRET', 'TESSERA_ADMIN_TOKEN'])
      assert.equal(fromSecret(name)?.optional, true, `${name} comes from the Secret when it holds it`);
    for (const e of env)
      if (/SECRET|TOKEN|KEY|PASSWORD|_URL$/.test(e.name) && e.name !== 'TESSERA_ISSUER')
        assert.equal(e.value, undefined, `${e.name} is not written into the manifest`);
  });

  test('sets only settings Tessera knows', () => {
    for (const e of env) assert.ok(knownSettings.has(e.name), `${e.name} is a Tessera setting`);
  });

  test("runs as the image's non-root user with a read-only root file system", () => {
    assert.equal(pod.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.runAsNonRoot, true);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
    assert.ok(dockerfileUser, 'the Dockerfile names a numeric USER');
    assert.equal(String(pod.securityContext.runAsUser), dockerfileUser[1]);
    const mounts = Object.fromEntries(
      container.volumeMounts.map((m: { mountPath: string; name: string }) => [m.mountPath, m.name]),
    );
    assert.ok(mounts['/tmp'], '/tmp is a writable volume');
    assert.ok(mounts['/app/data'], "the image's data volume is mounted");
    for (const name of [mounts['/tmp'], mounts['/app/data']])
      assert.ok(pod.volumes.find((v: { name: string }) => v.name === name).emptyDir);
  });

  test('exposes the metrics listener on a named port of the pod and the Service', () => {
    const port = container.ports.find((p: { name: string }) => p.name === 'metrics');
    assert.equal(String(port.containerPort), env.find((e) => e.name === 'TESSERA_METRICS_PORT')!.value);
    assert.equal(env.find((e) => e.name === 'TESSERA_METRICS_HOST')!.value, '0.0.0.0');
    const service = only(objects, 'Service');
    assert.deepEqual(service.spec.selector, deployment.spec.selector.matchLabels);
    const ports = Object.fromEntries(service.spec.ports.map((p: { name: string; targetPort: string }) => [p.name, p]));
    assert.equal(ports.http.targetPort, 'http');
    assert.equal(ports.metrics.targetPort, 'metrics');
  });

  test('requests memory and CPU and limits memory', () => {
    assert.ok(container.resources.requests.memory);
    assert.ok(container.resources.requests.cpu);
    assert.ok(container.resources.limits.memory);
  });

  test("gives the pods an environment that passes Tessera's production check", () => {
    const secretValues: Record<string, string> = {
      DATABASE_URL: 'postgres://tessera:pw@postgres:5432/tessera',
      REDIS_URL: 'rediss://valkey:6379',
      TESSERA_SECRET: 's'.repeat(48),
      TESSERA_KEY_ENCRYPTION_KEY: 'k'.repeat(48),
    };
    const podEnv: Record<string, string> = { NODE_ENV: 'production', TESSERA_HOST: '0.0.0.0' };
    for (const e of env) {
      if (e.value !== undefined) podEnv[e.name] = e.value;
      else if (secretValues[e.name]) podEnv[e.name] = secretValues[e.name]!;
    }
    const config = loadConfig(podEnv);
    assert.equal(config.env, 'production');
    assert.equal(config.metricsPort, 9464);
    assert.match(config.databaseUrl, /^postgres:/);
  });

  test('mounts the bootstrap file from a ConfigMap, or from a Secret named instead', () => {
    const bootstrap = {
      clients: [
        {
          client_id: 'shop-mobile',
          token_endpoint_auth_method: 'none',
          application_type: 'native',
          redirect_uris: ['http://127.0.0.1/callback'],
          grant_types: ['authorization_code', 'refresh_token'],
          scope: 'openid profile',
        },
      ],
    };
    const rendered = renderChart({
      bootstrap: { enabled: true, config: bootstrap },
      extraEnv: [{ name: 'TESSERA_WORKERS', value: '1' }],
    });
    const configMap = only(rendered, 'ConfigMap');
    const file = parseYaml(configMap.data!['bootstrap.yaml']!);
    assert.deepEqual(file, bootstrap);
    assert.deepEqual(bootstrapSchemaProblems(file), [], 'a bootstrap file Tessera accepts');
    const spec = only(rendered, 'Deployment').spec.template.spec;
    const c = spec.containers[0];
    const path = c.env.find((e: { name: string }) => e.name === 'TESSERA_BOOTSTRAP_FILE').value as string;
    const mount = c.volumeMounts.find((m: { mountPath: string }) => path.startsWith(m.mountPath + '/'));
    assert.equal(path.slice(mount.mountPath.length + 1), 'bootstrap.yaml');
    assert.equal(mount.readOnly, true);
    const volume = spec.volumes.find((v: { name: string }) => v.name === mount.name);
    assert.equal(volume.configMap.name, configMap.metadata.name);
    assert.ok(c.env.some((e: { name: string; value: string }) => e.name === 'TESSERA_WORKERS' && e.value === '1'));

    const fromSecret = renderChart({ bootstrap: { enabled: true, existingSecret: 'tessera-bootstrap' } });
    assert.equal(fromSecret.filter((o) => o.kind === 'ConfigMap').length, 0);
    const volumes = only(fromSecret, 'Deployment').spec.template.spec.volumes;
    assert.equal(volumes.find((v: { name: string }) => v.name === 'bootstrap').secret.secretName, 'tessera-bootstrap');
  });

  test('refuses template syntax outside the subset it renders', () => {
    assert.throws(() => render(parseTemplate('{{ include "x" . }}', 't'), {}), /outside the template subset/);
    assert.throws(
      () => render(parseTemplate('{{ .Values.a | b64enc }}', 't'), { Values: { a: 'x' } }),
      /outside the template subset/,
    );
  });
});
