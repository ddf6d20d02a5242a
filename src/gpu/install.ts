/**
 * Is @tensorflow/tfjs-node-gpu installed with its native parts? Its npm install script
 * downloads libtensorflow (into deps/lib) and the prebuilt N-API addon (into
 * lib/napi-v<N>/tfjs_binding.node). When npm skipped the script (--ignore-scripts, an
 * allowScripts policy, no network at install time) the package is there but cannot load.
 */
import { createRequire } from 'node:module';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { PROJECT_ROOT } from '../util/paths.ts';

export const GPU_PACKAGE = '@tensorflow/tfjs-node-gpu';

export interface NativePackageCheck {
  package: string;
  installed: boolean;
  version?: string;
  dir?: string;
  /** The downloaded libtensorflow, e.g. .../deps/lib/libtensorflow.so.2.9.1; null when absent. */
  libtensorflow: string | null;
  /** The N-API addon, e.g. .../lib/napi-v8/tfjs_binding.node; null when absent. */
  binding: string | null;
  problems: string[];
  fixes: string[];
}

function firstMatch(dir: string, test: (name: string) => boolean): string | null {
  try {
    const hit = readdirSync(dir).sort().find(test);
    return hit ? join(dir, hit) : null;
  } catch {
    return null;
  }
}

/** Look for the package as the project would resolve it. Never throws. */
export function checkNativePackage(pkg: string = GPU_PACKAGE, fromDir: string = PROJECT_ROOT): NativePackageCheck {
  const res: NativePackageCheck = { package: pkg, installed: false, libtensorflow: null, binding: null, problems: [], fixes: [] };
  let pj: string;
  try {
    pj = createRequire(join(fromDir, 'package.json')).resolve(`${pkg}/package.json`);
  } catch {
    res.problems.push(`${pkg} is not installed (it is an optional dependency, so npm skips it when its install fails).`);
    res.fixes.push(
      `On a machine with internet run 'npm install ${pkg}'; its install script downloads libtensorflow from storage.googleapis.com.`,
    );
    return res;
  }
  res.installed = true;
  res.dir = dirname(pj);
  try {
    res.version = (JSON.parse(readFileSync(pj, 'utf8')) as { version?: string }).version;
  } catch {
    // version unknown
  }
  res.libtensorflow = firstMatch(join(res.dir, 'deps', 'lib'), (n) => /^(libtensorflow\.so|tensorflow\.dll|libtensorflow\.\d*\.?dylib)/.test(n));
  const lib = join(res.dir, 'lib');
  try {
    for (const d of readdirSync(lib).filter((n) => n.startsWith('napi-v')).sort()) {
      const f = join(lib, d, 'tfjs_binding.node');
      if (existsSync(f)) res.binding = f;
    }
  } catch {
    // no lib folder
  }
  if (!res.libtensorflow || !res.binding) {
    const what = [!res.libtensorflow && 'libtensorflow (deps/lib)', !res.binding && 'the native addon (lib/napi-v*/tfjs_binding.node)']
      .filter(Boolean)
      .join(' and ');
    res.problems.push(`${pkg}${res.version ? ' ' + res.version : ''} is installed but ${what} is missing: its install script did not run or could not download.`);
    res.fixes.push(
      `With internet access run 'npm rebuild ${pkg}'. Install scripts must be allowed: not --ignore-scripts, and with npm 11's ` +
        `install-script policy approve it ('npm approve-scripts ${pkg}' or "allowScripts": {"${pkg}": true} in package.json).`,
    );
  }
  return res;
}
