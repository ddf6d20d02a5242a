import { describe, expect, it } from 'vitest';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { PROJECT_ROOT } from '../src/util/paths.ts';

// Loose shapes of the parts of the manifests we look at.
interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  resources?: { limits?: Record<string, unknown> };
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}
interface PodSpec {
  restartPolicy: string;
  containers: Container[];
  volumes: { name: string; persistentVolumeClaim?: { claimName: string } }[];
  securityContext?: { runAsUser?: number; fsGroup?: number };
}
interface Doc {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: Record<string, unknown>;
}

const jobPath = join(PROJECT_ROOT, 'deploy', 'k8s', 'sweep-job.yaml');
const jobText = readFileSync(jobPath, 'utf8');

function load(text: string): Doc[] {
  const docs = parseAllDocuments(text);
  for (const d of docs) expect(d.errors, String(d.errors[0])).toEqual([]);
  return docs.map((d) => d.toJS() as Doc).filter((d) => d !== null);
}

/** Kubernetes' $(VAR) expansion in args, from the container's env (plus what the Job controller adds). */
function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\((\w+)\)/g, (m, k) => env[k] ?? m);
}

function jobParts(text: string) {
  const docs = load(text);
  const job = docs.find((d) => d.kind === 'Job')!;
  const spec = job.spec as { completionMode: string; completions: number; parallelism: number; template: { spec: PodSpec } };
  const pod = spec.template.spec;
  const c = pod.containers[0]!;
  const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? '']));
  const args = c.args ?? [];
  const shardArg = args[args.indexOf('--shard') + 1]!;
  return { docs, job, spec, pod, c, env, args, shardArg };
}

describe('deploy/k8s/sweep-job.yaml', () => {
  const { docs, job, spec, pod, c, env, args, shardArg } = jobParts(jobText);

  it('is an Indexed Job', () => {
    expect(job.apiVersion).toBe('batch/v1');
    expect(job.kind).toBe('Job');
    expect(spec.completionMode).toBe('Indexed');
    expect(['Never', 'OnFailure']).toContain(pod.restartPolicy);
  });

  it('completions == parallelism == SHARDS == the n of --shard i/n', () => {
    const shards = Number(env.SHARDS);
    expect(Number.isInteger(shards) && shards >= 1).toBe(true);
    expect(spec.completions).toBe(shards);
    expect(spec.parallelism).toBe(shards);
    expect(shardArg).toBe('$(JOB_COMPLETION_INDEX)/$(SHARDS)');
    // pod 2 of the Job: the controller sets JOB_COMPLETION_INDEX=2
    expect(expand(shardArg, { ...env, JOB_COMPLETION_INDEX: '2' })).toBe(`2/${shards}`);
    // the env var the args use must be defined, or Kubernetes leaves "$(SHARDS)" as it is
    expect(Object.keys(env)).toContain('SHARDS');
  });

  it('defaults SHARDS to the run count of configs/sweep.json (one run per GPU)', () => {
    const sweep = JSON.parse(readFileSync(join(PROJECT_ROOT, 'configs', 'sweep.json'), 'utf8')) as { runs?: unknown[] };
    expect(Array.isArray(sweep.runs)).toBe(true);
    expect(Number(env.SHARDS)).toBe(sweep.runs!.length);
  });

  it('the documented sed line sets all three SHARDS lines together', () => {
    // sed -E 's/[0-9]+("?)( +# SHARDS)$/12\1\2/'
    const edited = jobText.replace(/[0-9]+("?)( +# SHARDS)$/gm, '12$1$2');
    expect(jobText).toContain(`sed -E 's/[0-9]+("?)( +# SHARDS)$/12\\1\\2/' deploy/k8s/sweep-job.yaml | kubectl apply -f -`);
    const changed = edited.split('\n').filter((l, i) => l !== jobText.split('\n')[i]);
    expect(changed).toHaveLength(3);
    const p = jobParts(edited);
    expect([p.spec.completions, p.spec.parallelism, Number(p.env.SHARDS)]).toEqual([12, 12, 12]);
  });

  it('runs `chinchilla sweep <existing config> --shard … --backend tensorflow-gpu` through the image entrypoint', () => {
    expect(c.command).toBeUndefined(); // keep the image's ENTRYPOINT ["chinchilla"]
    const dockerfile = readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["chinchilla"\]$/m);
    expect(args.slice(0, 2)).toEqual(['sweep', 'configs/sweep.json']);
    expect(existsSync(join(PROJECT_ROOT, args[1]!))).toBe(true);
    expect(args[args.indexOf('--backend') + 1]).toBe('tensorflow-gpu');
  });

  it('asks for one GPU per pod', () => {
    expect(c.resources?.limits?.['nvidia.com/gpu']).toBe(1);
  });

  it('mounts a shared ReadWriteMany claim at /app/runs (and the data cache at /app/data)', () => {
    const mount = (path: string) => {
      const m = c.volumeMounts!.find((v) => v.mountPath === path)!;
      expect(m, path).toBeDefined();
      expect(m.readOnly ?? false).toBe(false);
      const claim = pod.volumes.find((v) => v.name === m.name)!.persistentVolumeClaim!.claimName;
      const pvc = docs.find((d) => d.kind === 'PersistentVolumeClaim' && d.metadata.name === claim)!;
      expect(pvc, claim).toBeDefined();
      expect(pvc.spec.accessModes).toEqual(['ReadWriteMany']);
    };
    mount('/app/runs');
    mount('/app/data');
    // the image's WORKDIR is /app, so the sweep's runs/<name> lands on the volume
    expect(readFileSync(join(PROJECT_ROOT, 'Dockerfile'), 'utf8')).toMatch(/^WORKDIR \/app$/m);
  });

  it('runs as the image\'s non-root user with a group that can write the volumes', () => {
    expect(pod.securityContext?.runAsUser).toBe(1000);
    expect(pod.securityContext?.fsGroup).toBe(1000);
  });
});

describe('deploy/k8s/results-pod.yaml', () => {
  it('mounts the same runs claim read-only, for kubectl cp', () => {
    const [pod] = load(readFileSync(join(PROJECT_ROOT, 'deploy', 'k8s', 'results-pod.yaml'), 'utf8'));
    expect(pod!.kind).toBe('Pod');
    const spec = pod!.spec as unknown as PodSpec;
    expect(spec.volumes[0]!.persistentVolumeClaim!.claimName).toBe('chinchilla-runs');
    expect(spec.containers[0]!.volumeMounts![0]).toMatchObject({ mountPath: '/runs', readOnly: true });
  });
});
