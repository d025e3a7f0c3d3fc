'use client';
import { useParams } from 'next/navigation';
import { ContainerDetail } from '../../../../../client/components/container-detail';

export default function ContainerPage() {
  const params = useParams<{ agent: string; id: string }>();
  return <ContainerDetail agent={Number(params.agent)} id={params.id} />;
}
