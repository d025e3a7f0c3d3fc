'use client';
import { LaunchForm } from '../../../client/components/launch-form';

export default function LaunchPage() {
  return (
    <section aria-labelledby="launch-title">
      <h1 id="launch-title">Launch a container</h1>
      <LaunchForm />
    </section>
  );
}
