/**
 * Published scaling laws that `chinchilla plan` can use, and loading a law
 * from a fit.json.
 *
 * hoffmann2022  Hoffmann et al. 2022, "Training Compute-Optimal Large Language
 *               Models", eq. 10 / App. D.2 (Approach 3):
 *               L = 1.69 + 406.4/N^0.34 + 410.7/D^0.28 (N total parameters, D tokens, nats),
 *               the rounded values printed in the paper.
 * hoffmann2022-tex  the same fit with the unrounded values of the paper's LaTeX source
 *               (E 1.6933737, A 406.40102, B 410.72283, α 0.33917084, β 0.2849083); these
 *               reproduce Figure 4's ≈40B parameters at Gopher's 5.76e23 FLOPs, which the
 *               rounded ones do not (they give ≈32B).
 * epoch2024     Besiroglu, Erdil, Barnett & You 2024, "Chinchilla Scaling: A
 *               replication attempt" (arXiv:2404.10102), their refit of Approach 3
 *               on data read off Hoffmann et al.'s Fig. 4:
 *               E 1.8172, A 482.01, B 2085.43, α 0.3478, β 0.3658.
 * kaplan2020    Kaplan et al. 2020, "Scaling Laws for Neural Language Models":
 *               L(N, D) = [(N_c/N)^(α_N/α_D) + D_c/D]^α_D with Table 2's fit
 *               α_N 0.076, α_D 0.103, N_c 6.4e13, D_c 1.8e13 (N non-embedding
 *               parameters, D tokens, nats on WebText2), and the compute-efficient
 *               allocation of §6 / Fig. 14: N_opt = 1.3e9 · C_min^0.73 with C_min in
 *               PF-days (1 PF-day = 1e15 · 86400 = 8.64e19 FLOPs).
 */
import { existsSync, readFileSync } from 'node:fs';
import { conventionsOf, describeConventions, parseFitJson } from '../artifacts/fitJson.ts';
import { UserError } from '../util/errors.ts';

/** L(N, D) = E + A/N^α + B/D^β */
export interface ChinchillaLaw {
  kind: 'chinchilla';
  name: string;
  source: string;
  E: number;
  A: number;
  B: number;
  alpha: number;
  beta: number;
}

/** Kaplan et al. 2020: L(N, D) = [(Nc/N)^(αN/αD) + Dc/D]^αD, allocation N_opt = Ne · (C / PF-day)^pN */
export interface KaplanLaw {
  kind: 'kaplan';
  name: string;
  source: string;
  alphaN: number;
  alphaD: number;
  Nc: number;
  Dc: number;
  Ne: number;
  pN: number;
}

export type Law = ChinchillaLaw | KaplanLaw;

export const PF_DAY = 1e15 * 86400;

export const HOFFMANN2022: ChinchillaLaw = {
  kind: 'chinchilla',
  name: 'hoffmann2022',
  source: 'Hoffmann et al. 2022, Approach 3 (eq. 10)',
  E: 1.69,
  A: 406.4,
  B: 410.7,
  alpha: 0.34,
  beta: 0.28,
};

export const HOFFMANN2022_TEX: ChinchillaLaw = {
  kind: 'chinchilla',
  name: 'hoffmann2022-tex',
  source: 'Hoffmann et al. 2022, Approach 3, unrounded values from the paper source',
  E: 1.6933737,
  A: 406.40102,
  B: 410.72283,
  alpha: 0.33917084,
  beta: 0.2849083,
};

export const EPOCH2024: ChinchillaLaw = {
  kind: 'chinchilla',
  name: 'epoch2024',
  source: 'Besiroglu et al. 2024 (arXiv:2404.10102), replication of Approach 3',
  E: 1.8172,
  A: 482.01,
  B: 2085.43,
  alpha: 0.3478,
  beta: 0.3658,
};

export const KAPLAN2020: KaplanLaw = {
  kind: 'kaplan',
  name: 'kaplan2020',
  source: 'Kaplan et al. 2020, L(N,D) of Table 2 and N_opt = 1.3e9·C_min^0.73 (C_min in PF-days, Fig. 14)',
  alphaN: 0.076,
  alphaD: 0.103,
  Nc: 6.4e13,
  Dc: 1.8e13,
  Ne: 1.3e9,
  pN: 0.73,
};

export const LAWS: Record<string, Law> = {
  epoch2024: EPOCH2024,
  'hoffmann2022-tex': HOFFMANN2022_TEX,
  hoffmann2022: HOFFMANN2022,
  kaplan2020: KAPLAN2020,
};

/**
 * The default law of `chinchilla plan`: Epoch AI's refit. Besiroglu et al. 2024 showed that
 * Hoffmann et al.'s published Approach-3 parameters do not fit the paper's own data (their
 * intervals are implausibly narrow and the implied tokens/parameter, ≈70 at 1e23, contradicts
 * Approaches 1 and 2 and the ≈20 tokens/parameter Chinchilla itself was trained with); the
 * refit agrees with Approaches 1 and 2 (≈20 tokens/parameter).
 */
export const DEFAULT_LAW = 'epoch2024';

/** Published compute-optimal exponents N_opt ∝ C^a (D_opt ∝ C^(1−a) under C = 6ND). */
export const PUBLISHED_A = {
  /** Hoffmann et al. 2022: a ≈ b ≈ 0.5 (Approaches 1–3 give 0.46–0.50) */
  chinchilla: 0.5,
  /** Kaplan et al. 2020, §6.1: N_opt ∝ C_min^0.73 */
  kaplan: 0.73,
} as const;

/** Chinchilla's rule of thumb: ~20 training tokens per parameter. */
export const CHINCHILLA_TOKENS_PER_PARAM = 20;

/** A Chinchilla law from fitted parameters (e.g. fit.json's approach3). */
export function chinchillaLaw(p: { E: number; A: number; B: number; alpha: number; beta: number }, name = 'approach3', source = 'fit.json approach3'): ChinchillaLaw {
  return { kind: 'chinchilla', name, source, E: p.E, A: p.A, B: p.B, alpha: p.alpha, beta: p.beta };
}

/**
 * Hoffmann et al. 2022, eq. 4: minimising E + A/N^α + B/D^β subject to C = 6ND gives
 *   N_opt = G·(C/6)^a,  D_opt = G⁻¹·(C/6)^b,  G = (αA/(βB))^(1/(α+β)),  a = β/(α+β),  b = α/(α+β).
 * The one place this formula is written.
 */
export function eq4(p: { A: number; B: number; alpha: number; beta: number }): { G: number; a: number; b: number } {
  return {
    G: ((p.alpha * p.A) / (p.beta * p.B)) ** (1 / (p.alpha + p.beta)),
    a: p.beta / (p.alpha + p.beta),
    b: p.alpha / (p.alpha + p.beta),
  };
}

/** Predicted loss of a model with N parameters trained on D tokens. */
export function lawLoss(law: Law | Omit<ChinchillaLaw, 'kind' | 'name' | 'source'>, N: number, D: number): number {
  if (!('kind' in law) || law.kind === 'chinchilla') return law.E + law.A / N ** law.alpha + law.B / D ** law.beta;
  return ((law.Nc / N) ** (law.alphaN / law.alphaD) + law.Dc / D) ** law.alphaD;
}

/** Tokens D with L(N, D) = target, or Infinity when N parameters cannot reach that loss. */
export function tokensForLoss(law: Law, N: number, target: number): number {
  if (law.kind === 'chinchilla') {
    const rest = target - law.E - law.A / N ** law.alpha; // = B/D^β
    return rest > 0 ? (law.B / rest) ** (1 / law.beta) : Infinity;
  }
  const rest = target ** (1 / law.alphaD) - (law.Nc / N) ** (law.alphaN / law.alphaD); // = Dc/D
  return rest > 0 ? law.Dc / rest : Infinity;
}

/** Smallest model that can reach `target` at all (D → ∞). */
export function minParamsForLoss(law: Law, target: number): number {
  if (law.kind === 'chinchilla') return target > law.E ? (law.A / (target - law.E)) ** (1 / law.alpha) : Infinity;
  return law.Nc / target ** (1 / law.alphaN);
}

/** Kaplan et al.'s compute-efficient allocation: N = 1.3e9 · (C / PF-day)^0.73, D = C/(6N). */
export function kaplanAllocation(C: number, k: KaplanLaw = KAPLAN2020): { N: number; D: number } {
  const N = k.Ne * (C / PF_DAY) ** k.pN;
  return { N, D: C / (6 * N) };
}

/** Compute-optimal allocation under C = 6ND: eq4 for a Chinchilla law, Kaplan's empirical allocation for Kaplan's. */
export function computeOptimal(law: Law | Omit<ChinchillaLaw, 'kind' | 'name' | 'source'>, C: number): { N: number; D: number } {
  if ('kind' in law && law.kind === 'kaplan') return kaplanAllocation(C, law);
  const { G, a, b } = eq4(law as ChinchillaLaw);
  return { N: G * (C / 6) ** a, D: (C / 6) ** b / G };
}

function chinchillaFrom(obj: Record<string, unknown>, name: string, source: string): ChinchillaLaw | null {
  const keys = ['E', 'A', 'B', 'alpha', 'beta'] as const;
  if (!keys.every((k) => typeof obj[k] === 'number' && Number.isFinite(obj[k]))) return null;
  const law = { kind: 'chinchilla' as const, name, source, E: obj.E as number, A: obj.A as number, B: obj.B as number, alpha: obj.alpha as number, beta: obj.beta as number };
  if (!(law.A > 0 && law.B > 0 && law.alpha > 0 && law.beta > 0)) {
    throw new UserError(`${name}: the Approach 3 fit has a non-positive A, B, α or β; it does not define a compute-optimal allocation`);
  }
  return law;
}

/**
 * A law by name (hoffmann2022 | epoch2024 | kaplan2020) or a path to a fit.json
 * (its approach3) or to the JSON of `chinchilla fit --csv --json` (E, A, B, alpha, beta at the top).
 */
export function loadLaw(spec: string): Law {
  const known = LAWS[spec];
  if (known) return known;
  if (!existsSync(spec)) {
    throw new UserError(`--law ${spec}: not a known law (${Object.keys(LAWS).join(', ')}) and no such file (give a fit.json path)`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(spec, 'utf8'));
  } catch (e) {
    throw new UserError(`--law ${spec}: not valid JSON (${(e as Error).message})`);
  }
  if (raw && typeof raw === 'object') {
    const obj = raw as Record<string, unknown>;
    if ('approach3' in obj) {
      const a3 = obj.approach3 as Record<string, unknown> | null;
      if (!a3) {
        const w = Array.isArray(obj.warnings) ? obj.warnings.filter((x) => String(x).startsWith('approach 3')).join('; ') : '';
        throw new UserError(`--law ${spec}: this fit.json has no Approach 3 fit${w ? ` (${w})` : ''}; re-run \`chinchilla fit\` with more runs or use a published law`);
      }
      // a full fit report says which conventions it was made with; a bare {approach3} does not
      let made = 'conventions not recorded';
      let caveat = '';
      try {
        const report = parseFitJson(raw, spec);
        made = `made with ${describeConventions(conventionsOf(report))}`;
        const design = report.approach3?.design;
        if (design && !design.identifiable) caveat = `; NOT identified by the sweep's design: ${design.reason}`;
      } catch (e) {
        if (!(e instanceof UserError)) throw e;
      }
      const law = chinchillaFrom(a3, spec, `Approach 3 fit in ${spec}, ${made}${caveat}`);
      if (law) return law;
    }
    const law = chinchillaFrom(obj, spec, `fit in ${spec}`);
    if (law) return law;
  }
  throw new UserError(`--law ${spec}: no E, A, B, alpha, beta found (expected a fit.json from \`chinchilla fit\`)`);
}
