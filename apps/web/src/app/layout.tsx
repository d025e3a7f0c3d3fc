import '@xterm/xterm/css/xterm.css';
import './globals.css';
import type { Metadata } from 'next';
import type { ReactNode } from 'react';

// Rendered per request: each page carries its own CSP nonce (src/server/csp.ts).
export const dynamic = 'force-dynamic';

export const metadata: Metadata = {
  title: 'tocker',
  description: 'Launch, limit, watch and shell into containers',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
