'use client';
import { type ReactNode, useId } from 'react';

/**
 * A message as it reads next to its field: the protocol names the field first
 * ("memory: ..." for logs and other clients), which the label already says here.
 */
export function atField(message: string): string {
  const text = message.replace(/^[a-zA-Z][\w.-]*: /, '');
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** A labelled form field with its hint and its error, wired for screen readers. */
export function Field({
  label,
  hint,
  error,
  children,
}: {
  label: string;
  hint?: string;
  error?: string | undefined;
  children: (props: {
    id: string;
    'aria-invalid': boolean;
    'aria-describedby': string | undefined;
  }) => ReactNode;
}) {
  const id = useId();
  const described = [hint ? `${id}-hint` : '', error ? `${id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div className={`field ${error ? 'invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({ id, 'aria-invalid': Boolean(error), 'aria-describedby': described || undefined })}
      {hint && (
        <small id={`${id}-hint`} className="muted">
          {hint}
        </small>
      )}
      {error && (
        <small id={`${id}-error`} className="error-text" role="alert">
          {atField(error)}
        </small>
      )}
    </div>
  );
}

/** What a form's problem is when it belongs to no one field. */
export function FormError({ message }: { message: string | undefined }) {
  if (!message) return null;
  return (
    <p role="alert" className="error-text wide">
      {message}
    </p>
  );
}
