import type { ReactNode } from 'react';

/**
 * A list page's table: labelled, its header from `columns` ('' = the actions column).
 * `className` names a list whose stylesheet gives it more (the containers' independent rows).
 */
export function ListTable({
  label,
  columns,
  className,
  children,
}: {
  label: string;
  columns: readonly string[];
  className?: string;
  children: ReactNode;
}) {
  return (
    <div className="table-wrap">
      <table className={className === undefined ? 'list' : `list ${className}`} aria-label={label}>
        <thead>
          <tr>
            {columns.map((column) => (
              <th key={column} scope="col">
                {column === '' ? <span className="sr-only">Actions</span> : column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/**
 * A cell with its column's name: on narrow screens the table becomes cards and the name
 * shows before the value (one wrapper, so the value lays out as one piece).
 */
export function Cell({
  label,
  className,
  children,
}: {
  label: string;
  className?: string;
  children: ReactNode;
}) {
  return (
    <td data-label={label} className={className}>
      <div className="cell">{children}</div>
    </td>
  );
}
