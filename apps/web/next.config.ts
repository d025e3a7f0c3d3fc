import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NextConfig } from 'next';

const here = dirname(fileURLToPath(import.meta.url));

const config: NextConfig = {
  // The custom server (src/server/main.ts) hosts these pages behind its sign-in gate.
  poweredByHeader: false,
  reactStrictMode: true,
  devIndicators: false,
  // `npm run typecheck` checks the pages with the rest of the repo.
  typescript: { ignoreBuildErrors: true },
  turbopack: { root: join(here, '..', '..') },
  // The styles travel in the page itself: a stylesheet link holds the first paint until it
  // has loaded, and the rows it would lay out twice (before and after it) cost more than its
  // 14 KB, compressed to a few, in each page.
  experimental: { inlineCss: true },
  async headers() {
    return [
      {
        source: '/:path*',
        headers: [
          { key: 'X-Frame-Options', value: 'DENY' },
          { key: 'X-Content-Type-Options', value: 'nosniff' },
          { key: 'Referrer-Policy', value: 'same-origin' },
        ],
      },
    ];
  },
};

export default config;
