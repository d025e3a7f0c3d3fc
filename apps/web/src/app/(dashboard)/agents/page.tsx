'use client';
import { AgentsView } from '../../../client/components/agents';

export default function AgentsPage() {
  return <AgentsView />;
}
