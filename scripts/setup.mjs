#!/usr/bin/env node
// Idempotent set-up shared by `npm test`, `npm start` and `npm run bench` on a fresh
// Debian/Ubuntu VM with Node 20, run as root. Uses only Node built-ins: it runs before
// node_modules exists. Every external command is an argv array (no shell).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const wantsBench = process.argv.includes('--bench');
// The browser tests drive Debian's chromium (Playwright cannot download its own here).
const wantsBrowser = wantsBench || process.argv.includes('--test');

// gcc and libc6-dev build tocker-shim (static); tini-static is --init's PID 1; iproute2 and
// nftables: networks (bridges, veth pairs, NAT).
// zstd: image layers compressed with it (Node 20's zlib has no zstd; the binary is native
// speed and streams, and no npm package can fetch its prebuilt binary here).
const aptPackages = ['busybox-static', 'iproute2', 'nftables', 'gcc', 'libc6-dev', 'tini', 'zstd'];
// The pull benchmark compares with skopeo and podman, from a registry on loopback.
const benchAptPackages = ['runc', 'crun', 'hyperfine', 'skopeo', 'podman', 'docker-registry'];
const browserAptPackages = ['chromium'];
// The image tests check tocker's archives against other tools, read xattrs back, and
// start registries of their own (docker-registry, htpasswd from apache2-utils). The OCI
// runtime's tests drive it with the engines people run (podman with conmon, containerd and
// ctr) and prove their harness with runc.
const testAptPackages = [
  'attr',
  'skopeo',
  'umoci',
  'docker-registry',
  'apache2-utils',
  'podman',
  'containerd',
  'runc',
];

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
  // Debian starts the services it installs: the registry (on every address, port 5000) and
  // containerd. The tests start their own (on loopback, in their own directories), and a VM
  // should not serve either because its tests ran.
  for (const service of ['docker-registry', 'containerd'].filter((pkg) => missing.includes(pkg))) {
    for (const [command, args] of [
      ['systemctl', ['disable', '--now', service]],
      ['service', [service, 'stop']],
    ]) {
      try {
        execFileSync(command, args, { stdio: 'ignore' });
        break;
      } catch {}
    }
  }
}

// Docker's default seccomp profile, taken from Debian's copy of Docker's source rather than
// kept in this repository. Only the .deb is downloaded: installing it would pull in dozens
// of Go source packages. The runtime reads it at DEFAULT_SECCOMP_PROFILE
// (packages/runtime/src/security/seccomp.ts).
const seccompProfile = '/var/lib/tocker/seccomp/default.json';
const seccompProfilePackage = 'golang-github-docker-docker-dev';
const seccompProfileMember =
  './usr/share/gocode/src/github.com/docker/docker/profiles/seccomp/default.json';

function installDefaultSeccompProfile() {
  if (existsSync(seccompProfile)) return;
  console.log(`setup: fetching Docker's default seccomp profile (${seccompProfilePackage})`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const work = mkdtempSync(join(tmpdir(), 'tocker-seccomp-'));
  try {
    // apt's unprivileged download user cannot write into a root-only temporary directory.
    const download = () =>
      run('apt-get', ['download', '-qq', '-o', 'APT::Sandbox::User=root', seccompProfilePackage], {
        cwd: work,
        env,
      });
    try {
      download();
    } catch {
      run('apt-get', ['update', '-qq'], { env });
      download();
    }
    const deb = readdirSync(work).find((name) => name.endsWith('.deb'));
    if (deb === undefined) throw new Error(`apt-get download left no .deb in ${work}`);
    const tarPath = join(work, 'data.tar');
    const tarFd = openSync(tarPath, 'w');
    try {
      run('dpkg-deb', ['--fsys-tarfile', join(work, deb)], { stdio: ['ignore', tarFd, 'inherit'] });
    } finally {
      closeSync(tarFd);
    }
    const text = execFileSync('tar', ['-x', '-O', '-f', tarPath, seccompProfileMember]);
    JSON.parse(text.toString()); // refuse to install a damaged profile
    const directory = dirname(seccompProfile);
    mkdirSync(directory, { recursive: true, mode: 0o755 });
    chmodSync(directory, 0o755);
    const partial = `${seccompProfile}.${process.pid}.tmp`;
    writeFileSync(partial, text, { mode: 0o644 });
    chmodSync(partial, 0o644);
    renameSync(partial, seccompProfile);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

// npm ci only when package-lock.json changed since the last install.
function installNpmDependencies() {
  const lock = readFileSync(join(repo, 'package-lock.json'));
  const hash = createHash('sha256').update(lock).digest('hex');
  const stamp = join(repo, 'node_modules', '.tocker-lock-sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === hash) return;
  console.log('setup: installing npm dependencies');
  // Prisma's postinstall leaves empty directories in the temporary directory: npm gets one
  // of its own, removed afterwards.
  const scratch = mkdtempSync(join(tmpdir(), 'tocker-npm-'));
  try {
    run('npm', ['ci', '--no-audit', '--no-fund'], { env: { ...process.env, TMPDIR: scratch } });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  writeFileSync(stamp, hash);
}

// The host ids of --userns=auto containers: a `tocker` entry in /etc/subuid and
// /etc/subgid, 1000 ranges of 65536 above the ids people and packages use. An entry the
// administrator already made (any range) is kept as it is.
const subordinateEntry = 'tocker:1000000:65536000';
function addSubordinateIds() {
  for (const file of ['/etc/subuid', '/etc/subgid']) {
    const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
    if (text.split('\n').some((line) => line.startsWith('tocker:'))) continue;
    const partial = `${file}.${process.pid}.tmp`;
    writeFileSync(
      partial,
      `${text}${text === '' || text.endsWith('\n') ? '' : '\n'}${subordinateEntry}\n`,
    );
    chmodSync(partial, 0o644);
    renameSync(partial, file);
    console.log(`setup: ${file} gives tocker's user namespaces ${subordinateEntry}`);
  }
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
  ...(process.argv.includes('--test') ? testAptPackages : []),
]);
installDefaultSeccompProfile();
addSubordinateIds();
installNpmDependencies();
run('npx', ['turbo', 'run', 'build', '--output-logs=errors-only']);
installRuntimeCommand();

const { prepareDefaultImage } = await import(join(repo, 'packages/runtime/dist/image.js'));
const image = prepareDefaultImage();
console.log(`setup: default image ready at ${image}`);
await importDefaultImage(image);

/**
 * tocker-runtime where engines are pointed at it (podman --runtime, containerd's
 * BinaryName): a link to this checkout's build, replaced if it pointed elsewhere.
 */
function installRuntimeCommand() {
  const link = '/usr/local/bin/tocker-runtime';
  const target = join(repo, 'packages/oci-runtime/dist/tocker-runtime');
  try {
    if (readlinkSync(link) === target) return;
  } catch {}
  rmSync(link, { force: true });
  symlinkSync(target, link);
  console.log(`setup: ${link} -> ${target}`);
}

/**
 * The same busybox tree as `busybox:latest` in the image store (offline: no registry
 * involved), imported again only when the tree was rebuilt (its marker is the label).
 */
async function importDefaultImage(tree) {
  const { ImageStore, importDirectory } = await import(join(repo, 'packages/images/dist/index.js'));
  const store = ImageStore.open();
  const source = readFileSync(join(tree, '.tocker-image'), 'utf8');
  let current = null;
  try {
    current = store.resolve('busybox:latest').config.config?.Labels?.['org.tocker.source'];
  } catch {}
  if (current === source) return;
  const imported = await importDirectory(store, tree, 'busybox:latest', {
    Cmd: ['sh'],
    Labels: { 'org.tocker.source': source },
  });
  console.log(`setup: busybox:latest imported into the image store (${imported.id.slice(7, 19)})`);
}
