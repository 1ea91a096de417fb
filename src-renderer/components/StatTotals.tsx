import type { ReactNode } from 'react';

export interface StatTotal {
  label: string;
  value: ReactNode;
  /** What the e2e tests read the figure by. */
  testId: string;
}

/** The big figures at the top of a Statistics panel (Renders, Models). */
export function StatTotals({ totals }: { totals: StatTotal[] }) {
  return (
    <dl className="stats__totals">
      {totals.map(({ label, value, testId }) => (
        <div key={testId} className="stats__total">
          <dt>{label}</dt>
          <dd data-testid={testId}>{value}</dd>
        </div>
      ))}
    </dl>
  );
}
