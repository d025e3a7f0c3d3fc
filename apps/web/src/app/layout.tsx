import '@xterm/xterm/css/xterm.css';
import './globals.css';
import type { Metadata } from 'next';
import { headers } from 'next/headers';
import type { ReactNode } from 'react';
import { RETRY_FAILED_SCRIPTS } from '../client/retry-failed-scripts';

// Rendered per request: each page carries its own CSP nonce (src/server/csp.ts).
export const dynamic = 'force-dynamic';

export const metadata: Metadata = {
  title: 'tocker',
  description: 'Launch, limit, watch and shell into containers',
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  // The policy the gate put on the request, where Next finds the nonce for its own scripts.
  const policy = (await headers()).get('content-security-policy') ?? '';
  const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
  return (
    <html lang="en">
      <head>
        <script
          nonce={nonce}
          // biome-ignore lint/security/noDangerouslySetInnerHtml: a constant of this repo
          dangerouslySetInnerHTML={{ __html: RETRY_FAILED_SCRIPTS }}
        />
      </head>
      <body>{children}</body>
    </html>
  );
}
