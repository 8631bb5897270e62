/** Check `operator-mismatch`: vector indexes use the operator class of the metric the store searches with. */

import { METRICS, metricForOpclass } from '../../core/metric.js';
import { dropIndexDdl } from '../../indexes/index-spec.js';
import type { DoctorCheck, DoctorFinding } from './types.js';
import { isVectorIndex } from './types.js';
import { embeddingColumns, finding, suggestIndex } from './util.js';

/** The `operator-mismatch` check. */
export const operatorMismatchCheck: DoctorCheck = {
  id: 'operator-mismatch',
  title: 'index operator class matches the metric',
  async run(context) {
    const metric = context.options.metric;
    const operator = METRICS[metric].operator;
    const columns = embeddingColumns(context);
    const findings: DoctorFinding[] = [];
    for (const index of context.indexes.filter(isVectorIndex)) {
      const found = metricForOpclass(index.opclass);
      if (found === undefined) continue;
      if (found.metric === metric) {
        findings.push(finding('pass', index.label, `${index.opclass} serves ${operator} (${metric})`));
        continue;
      }
      const column = columns.find((c) => c.table === index.table && index.columns.includes(c.name));
      const siblings = context.indexes.filter(
        (i) =>
          i !== index &&
          isVectorIndex(i) &&
          i.table === index.table &&
          i.predicate === index.predicate &&
          i.columns.some((c) => index.columns.includes(c)) &&
          metricForOpclass(i.opclass)?.metric === metric,
      );
      const replacement =
        column === undefined ? undefined : suggestIndex(column, metric, { where: index.predicate });
      const drop = `${dropIndexDdl(index.name, { schema: index.schema, concurrently: true })};`;
      if (siblings.length > 0) {
        findings.push(
          finding(
            'warn',
            index.label,
            `${index.name} uses ${index.opclass} (${found.metric}, ${METRICS[found.metric].operator}); searches use ${operator} (${metric}) and are served by ${siblings.map((s) => s.name).join(', ')}: this index is never used but slows every write`,
            drop,
          ),
        );
        continue;
      }
      findings.push(
        finding(
          'fail',
          index.label,
          `wrong distance operator: ${index.name} uses ${index.opclass} (${found.metric}, ${METRICS[found.metric].operator}) but the store searches by ${metric} (${operator}): the index would not be used and every search scans the table`,
          replacement === undefined ? drop : `${replacement}\n${drop}`,
        ),
      );
    }
    return { findings, passMessage: 'no vector indexes in scope' };
  },
};
