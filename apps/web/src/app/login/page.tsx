'use client';
import { type FormEvent, useState } from 'react';
import { Field } from '../../client/components/field';
import { pageAfterSignIn } from '../../client/navigation';

/** Sign-in with the login token the dashboard printed when it started. */
export default function LoginPage() {
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const token = String(new FormData(event.currentTarget).get('token') ?? '');
    if (token.trim() === '') {
      setError('Paste the login token printed by `npm start`.');
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const response = await fetch('/api/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token: token.trim() }),
      });
      if (!response.ok) {
        setError(((await response.json()) as { error: string }).error);
        return;
      }
      const next = new URLSearchParams(window.location.search).get('next');
      window.location.assign(pageAfterSignIn(next, window.location.origin));
    } catch {
      setError('The dashboard did not answer. Is it running?');
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="login">
      {/* A POST even before the scripts run: a plain GET would put the token in the URL. */}
      <form
        method="post"
        action="/api/login"
        onSubmit={submit}
        className="card"
        aria-labelledby="login-title"
      >
        <h1 id="login-title">
          <span className="logo">tocker</span> dashboard
        </h1>
        <Field
          label="Login token"
          hint="Printed by `npm start` (also in /var/lib/tocker/dashboard/login-token)."
          error={error}
        >
          {(props) => (
            <input {...props} name="token" type="password" autoComplete="current-password" />
          )}
        </Field>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
