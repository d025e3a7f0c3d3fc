'use client';
import { useParams } from 'next/navigation';
import { RunView } from '../../../../client/components/run';

export default function RunPage() {
  const params = useParams<{ run: string }>();
  return <RunView id={Number(params.run)} />;
}
