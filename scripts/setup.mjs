#!/usr/bin/env node
// Idempotent set-up shared by `npm test`, `npm start` and `npm run bench` on a fresh
// Debian/Ubuntu VM with Node 20, run as root. Uses only Node built-ins: it runs before
// node_modules exists. Every external command is an argv array (no shell).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const wantsBench = process.argv.includes('--bench');
// The browser tests drive Debian's chromium (Playwright cannot download its own here).
const wantsBrowser = wantsBench || process.argv.includes('--test');

const aptPackages = ['busybox-static', 'iproute2'];
const benchAptPackages = ['runc', 'crun', 'hyperfine'];
const browserAptPackages = ['chromium'];

function run(file, args, options = {}) {
  execFileSync(file, args, { stdio: 'inherit', cwd: repo, ...options });
}

function isInstalled(pkg) {
  try {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query format
    const status = execFileSync('dpkg-query', ['-W', '-f=${Status}', pkg], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return status.toString().includes('install ok installed');
  } catch {
    return false;
  }
}

function installDebianPackages(packages) {
  const missing = packages.filter((pkg) => !isInstalled(pkg));
  if (missing.length === 0) return;
  console.log(`setup: installing Debian packages: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  run('apt-get', ['update', '-qq'], { env });
  run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing], { env });
}

// npm ci only when package-lock.json changed since the last install.
function installNpmDependencies() {
  const lock = readFileSync(join(repo, 'package-lock.json'));
  const hash = createHash('sha256').update(lock).digest('hex');
  const stamp = join(repo, 'node_modules', '.tocker-lock-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return;
  console.log('setup: installing npm dependencies');
  run('npm', ['ci', '--no-audit', '--no-fund']);
  writeFileSync(stamp, hash);
}

if (process.getuid?.() !== 0) {
  console.error('setup: must run as root (apt packages, cgroups and the default image need it)');
  process.exit(1);
}
process.env.TURBO_TELEMETRY_DISABLED = '1';
process.env.NEXT_TELEMETRY_DISABLED = '1';
process.env.CHECKPOINT_DISABLE = '1'; // Prisma's update check: no network here

installDebianPackages([
  ...aptPackages,
  ...(wantsBench ? benchAptPackages : []),
  ...(wantsBrowser ? browserAptPackages : []),
]);
installNpmDependencies();
run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only']);

const { prepareDefaultImage } = await import(join(repo, 'packages/runtime/dist/image.js'));
const image = prepareDefaultImage();
console.log(`setup: default image ready at ${image}`);
