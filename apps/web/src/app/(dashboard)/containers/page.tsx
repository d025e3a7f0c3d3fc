import { ContainersList } from '../../../client/components/containers-list';
import { containerRowView } from '../../../client/container-row';
import { pageData } from '../../../server/page-data';

/** Rendered with the rows the server knows, so they show before the page's socket connects. */
export default async function ContainersPage() {
  const view = await pageData()?.containersView();
  const rendered = view && {
    agents: view.agents,
    containers: view.containers.map(({ agent, containers }) => ({
      agent,
      containers: containers.map(containerRowView),
    })),
  };
  return <ContainersList rendered={rendered ?? null} />;
}
